# description: fused bias add, residual add and LayerNorm; returns the normed and the summed
# tags: fused, normalization, layer-norm, elementwise, tuple-output
import torch
import torch.nn as nn

tokens = 8192
hidden = 2048


class Model(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.bias = nn.Parameter(torch.randn(hidden) * 0.1)
        self.norm = nn.LayerNorm(hidden)

    def forward(self, x, residual):
        summed = x + self.bias + residual
        return self.norm(summed), summed


def get_inputs():
    return [torch.randn(tokens, hidden), torch.randn(tokens, hidden)]


def get_init_inputs():
    return [hidden]
