# description: tall-skinny matrix product (many rows, small inner and outer dimensions)
# tags: matmul, gemm, tall-skinny, memory-bound
import torch
import torch.nn as nn

m = 65536
k = 256
n = 128


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, a, b):
        return a @ b


def get_inputs():
    return [torch.randn(m, k), torch.randn(k, n)]


def get_init_inputs():
    return []
