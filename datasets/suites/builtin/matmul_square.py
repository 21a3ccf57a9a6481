# description: square matrix product C = A @ B
# tags: matmul, gemm, compute-bound
import torch
import torch.nn as nn

size = 4096


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, a, b):
        return torch.matmul(a, b)


def get_inputs():
    return [torch.randn(size, size), torch.randn(size, size)]


def get_init_inputs():
    return []
