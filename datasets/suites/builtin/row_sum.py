# description: sum of each row of a wide matrix
# tags: reduction, sum, memory-bound
import torch
import torch.nn as nn

batch_size = 1024
dim = 16384


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return torch.sum(x, dim=1)


def get_inputs():
    return [torch.randn(batch_size, dim)]


def get_init_inputs():
    return []
