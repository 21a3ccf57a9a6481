# description: fully connected layer y = x W^T + b with learned weights
# tags: matmul, linear, gemm, parameters
import torch
import torch.nn as nn

batch_size = 4096
in_features = 4096
out_features = 2048


class Model(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)

    def forward(self, x):
        return self.linear(x)


def get_inputs():
    return [torch.randn(batch_size, in_features)]


def get_init_inputs():
    return [in_features, out_features]
