# description: attention-score epilogue: scale, causal mask and softmax in one pass
# tags: fused, softmax, attention, masking
import torch
import torch.nn as nn

batch_size = 16
heads = 16
seq_len = 1024


class Model(nn.Module):
    def __init__(self, scale=0.125):
        super().__init__()
        self.scale = scale

    def forward(self, scores):
        n = scores.shape[-1]
        causal = torch.ones(n, n, dtype=torch.bool, device=scores.device).tril()
        masked = (scores * self.scale).masked_fill(~causal, float("-inf"))
        return torch.softmax(masked, dim=-1)


def get_inputs():
    return [torch.randn(batch_size, heads, seq_len, seq_len)]


def get_init_inputs():
    return [0.125]
