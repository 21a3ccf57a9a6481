# description: out = a + alpha * b with alpha a Python float input (a scalar kernel argument)
# tags: elementwise, binary, scalar-input, memory-bound
import torch
import torch.nn as nn

batch_size = 4096
dim = 4096


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, a, b, alpha):
        return a + alpha * b


def get_inputs():
    return [torch.randn(batch_size, dim), torch.randn(batch_size, dim), 0.75]


def get_init_inputs():
    return []
