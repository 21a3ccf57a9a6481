# description: batched matrix product of many mid-sized matrices
# tags: matmul, bmm, batched
import torch
import torch.nn as nn

batch = 64
m = 512
k = 1024
n = 512


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, a, b):
        return torch.bmm(a, b)


def get_inputs():
    return [torch.randn(batch, m, k), torch.randn(batch, k, n)]


def get_init_inputs():
    return []
