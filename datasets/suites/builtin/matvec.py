# description: matrix-vector product of a large matrix with one column vector
# tags: matmul, gemv, memory-bound
import torch
import torch.nn as nn

m = 16384
k = 4096


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, a, v):
        return torch.matmul(a, v)


def get_inputs():
    return [torch.randn(m, k), torch.randn(k, 1)]


def get_init_inputs():
    return []
