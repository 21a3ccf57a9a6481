# description: ReLU over a large 2-D tensor; the simplest memory-bound elementwise op
# tags: elementwise, activation, memory-bound
import torch
import torch.nn as nn

batch_size = 4096
dim = 4096


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return torch.relu(x)


def get_inputs():
    return [torch.randn(batch_size, dim)]


def get_init_inputs():
    return []
