# description: GELU with the tanh approximation, written out term by term
# tags: elementwise, activation, transcendental
import math

import torch
import torch.nn as nn

batch_size = 4096
dim = 4096


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.coefficient = math.sqrt(2.0 / math.pi)

    def forward(self, x):
        inner = self.coefficient * (x + 0.044715 * x * x * x)
        return 0.5 * x * (1.0 + torch.tanh(inner))


def get_inputs():
    return [torch.randn(batch_size, dim)]


def get_init_inputs():
    return []
