# description: maximum down each column of a tall matrix (a reduction across rows)
# tags: reduction, max, strided
import torch
import torch.nn as nn

rows = 16384
cols = 1024


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return torch.amax(x, dim=0)


def get_inputs():
    return [torch.randn(rows, cols)]


def get_init_inputs():
    return []
