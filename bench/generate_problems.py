"""Writes N KernelBench-format problems (default 100) into a folder, for bench/import_bench.sh.

The problems follow KernelBench's level-1 layout (module-level size constants, Model,
get_inputs, get_init_inputs) and its current sizes and way of writing them (constants written as
products such as `16384 * 4`, `height = width = 128`, `depth, height, width = (...)`; operands of
up to 4 GB), over a spread of op families: activations, reductions, normalizations, matrix
products, convolutions, 2D and 3D pooling, losses and scans. They are generated here so that the
benchmark needs nothing from outside the repository.
"""

import os
import sys

HEADER = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n"

UNARY = ["torch.relu(x)", "torch.sigmoid(x)", "torch.tanh(x)", "F.gelu(x)", "F.silu(x)",
         "F.elu(x, alpha=1.0)", "F.softplus(x)", "F.leaky_relu(x, 0.01)", "F.hardtanh(x)",
         "F.selu(x)", "F.softsign(x)", "F.hardsigmoid(x)", "F.mish(x)", "torch.exp(x)"]
REDUCE = ["torch.sum(x, dim=self.dim)", "torch.mean(x, dim=self.dim)",
          "torch.amax(x, dim=self.dim)", "torch.amin(x, dim=self.dim)",
          "torch.argmax(x, dim=self.dim)", "torch.prod(x, dim=self.dim)",
          "torch.norm(x, dim=self.dim)", "torch.cumsum(x, dim=self.dim)",
          "torch.softmax(x, dim=self.dim)", "torch.log_softmax(x, dim=self.dim)"]


def unary(index, expression, batch, dim):
    return HEADER + f"""batch_size = {batch}
dim = {dim}


class Model(nn.Module):
    \"\"\"Applies {expression} elementwise.\"\"\"

    def __init__(self):
        super().__init__()

    def forward(self, x):
        return {expression}


def get_inputs():
    return [torch.randn(batch_size, dim)]


def get_init_inputs():
    return []
"""


def reduction(index, expression, batch, dim1, dim2, axis):
    return HEADER + f"""batch_size = {batch}
dim1 = {dim1}
dim2 = {dim2}
reduce_dim = {axis}


class Model(nn.Module):
    \"\"\"Computes {expression} over one dimension.\"\"\"

    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return {expression}


def get_inputs():
    return [torch.randn(batch_size, dim1, dim2)]


def get_init_inputs():
    return [reduce_dim]
"""


def matmul(index, m, k, n, batch):
    if batch:
        shapes = "torch.randn(batch, m, k), torch.randn(batch, k, n)"
        extra = f"batch = {batch}\n"
        op = "torch.bmm(a, b)"
    else:
        shapes = "torch.randn(m, k), torch.randn(k, n)"
        extra = ""
        op = "torch.matmul(a, b)"
    return HEADER + extra + f"""m = {product(m)}
k = {product(k)}
n = {product(n)}


class Model(nn.Module):
    \"\"\"Matrix product of shapes ({m}, {k}) and ({k}, {n}).\"\"\"

    def __init__(self):
        super().__init__()

    def forward(self, a, b):
        return {op}


def get_inputs():
    return [{shapes}]


def get_init_inputs():
    return []
"""


def product(value):
    """KernelBench's newer way of writing a size: `16384 * 4` rather than `65536`."""
    for factor in (4, 2):
        if value % factor == 0 and value // factor > 16:
            return "%d * %d" % (value // factor, factor)
    return str(value)


def norm(index, kind, batch, features, size):
    layer = {"batch": "nn.BatchNorm2d(features)", "instance": "nn.InstanceNorm2d(features)",
             "group": "nn.GroupNorm(num_groups, features)",
             "layer": "nn.LayerNorm((features, dim1, dim2))"}[kind]
    return HEADER + f"""batch_size = {batch}
features = {features}
num_groups = 8
dim1 = {size}
dim2 = {size}


class Model(nn.Module):
    \"\"\"{kind} normalization.\"\"\"

    def __init__(self, features):
        super().__init__()
        self.norm = {layer}

    def forward(self, x):
        return self.norm(x)


def get_inputs():
    return [torch.randn(batch_size, features, dim1, dim2)]


def get_init_inputs():
    return [features]
"""


def conv(index, batch, cin, cout, kernel, size, stride, transposed):
    layer = "nn.ConvTranspose2d" if transposed else "nn.Conv2d"
    return HEADER + f"""batch_size = {batch}
in_channels = {cin}
out_channels = {cout}
kernel_size = {kernel}
height = width = {size}
stride = {stride}


class Model(nn.Module):
    \"\"\"{layer} with a square kernel.\"\"\"

    def __init__(self, in_channels, out_channels, kernel_size, stride):
        super().__init__()
        self.conv = {layer}(in_channels, out_channels, kernel_size, stride=stride)

    def forward(self, x):
        return self.conv(x)


def get_inputs():
    return [torch.randn(batch_size, in_channels, height, width)]


def get_init_inputs():
    return [in_channels, out_channels, kernel_size, stride]
"""


def pool(index, kind, batch, channels, size, kernel, dims=2):
    layer = {"max": "nn.MaxPool%dd(kernel_size, stride=2)" % dims,
             "avg": "nn.AvgPool%dd(kernel_size, stride=2)" % dims}[kind]
    extents = ("depth, height, width = (%d, %d, %d)" % (size, size, size) if dims == 3
               else "height, width = (%d, %d)" % (size, size))
    return HEADER + f"""batch_size = {batch}
channels = {channels}
{extents}
kernel_size = {kernel}


class Model(nn.Module):
    \"\"\"{kind} pooling over {dims} dimensions.\"\"\"

    def __init__(self, kernel_size):
        super().__init__()
        self.pool = {layer}

    def forward(self, x):
        return self.pool(x)


def get_inputs():
    return [torch.randn(batch_size, channels, {"depth, " if dims == 3 else ""}height, width)]


def get_init_inputs():
    return [kernel_size]
"""


def loss(index, kind, batch, dim):
    body = {"mse": "torch.mean((predictions - targets) ** 2)",
            "smooth_l1": "F.smooth_l1_loss(predictions, targets)",
            "cosine": "torch.mean(1 - F.cosine_similarity(predictions, targets, dim=1))",
            "kl": "F.kl_div(torch.log(predictions), targets, reduction='batchmean')"}[kind]
    inputs = "torch.randn(batch_size, dim), torch.randn(batch_size, dim)" if kind != "kl" else \
        "torch.randn(batch_size, dim).softmax(dim=-1), torch.randn(batch_size, dim).softmax(dim=-1)"
    return HEADER + f"""batch_size = {batch}
dim = {dim}


class Model(nn.Module):
    \"\"\"{kind} loss.\"\"\"

    def __init__(self):
        super().__init__()

    def forward(self, predictions, targets):
        return {body}


def get_inputs():
    return [{inputs}]


def get_init_inputs():
    return []
"""


def problems():
    generated = []
    sizes = [(16, 16384), (4096, 393216 // 96), (128, 4096), (16, 65536)]
    for index, expression in enumerate(UNARY):
        for variant in (0, 1):
            batch, dim = sizes[(index + variant) % len(sizes)]
            generated.append(("%s_%d" % (expression.split("(")[0].split(".")[-1], variant),
                              unary(index, expression, batch, dim)))
    for index, expression in enumerate(REDUCE):
        for axis in (1, 2):
            name = expression.split("(")[0].split(".")[-1]
            generated.append(("%s_dim%d" % (name, axis),
                              reduction(index, expression, 16, 256, 256 + 64 * index, axis)))
    # KernelBench's current sizes include 4 GB operands (its M = 16384 * 4, N = 4096 * 4).
    shapes = [(4096, 4096, 4096, 0), (2048, 8192, 4096, 0), (16384 * 4, 256, 4096 * 4, 0),
              (256, 131072 * 4, 256, 0), (16384 * 2, 16384 * 2, 1, 0), (1, 8192, 8192, 0),
              (128, 128, 128, 128), (512, 1024, 256, 32), (2048, 64, 2048, 0),
              (333, 777, 555, 0), (4096, 2048, 1024, 4), (64, 64, 64, 512)]
    for index, (m, k, n, batch) in enumerate(shapes):
        generated.append(("matmul_%dx%dx%d%s" % (m, k, n, "_b%d" % batch if batch else ""),
                          matmul(index, m, k, n, batch)))
    for index, kind in enumerate(("batch", "instance", "group", "layer")):
        for variant, (features, size) in enumerate(((64, 256), (32, 128))):
            generated.append(("%s_norm_%d" % (kind, variant),
                              norm(index, kind, 16, features, size)))
    conv_shapes = [(16, 3, 64, 3, 256, 1), (16, 64, 128, 3, 128, 1), (8, 32, 32, 5, 128, 2),
                   (16, 16, 64, 1, 256, 1), (4, 128, 256, 3, 64, 2), (16, 3, 96, 11, 224, 4),
                   (8, 64, 64, 7, 96, 1), (16, 32, 16, 3, 160, 1)]
    for index, shape in enumerate(conv_shapes):
        for transposed in (False, True):
            generated.append(("conv%s2d_%d" % ("_transpose" if transposed else "", index),
                              conv(index, *shape, transposed)))
    for index, (kind, channels, size, kernel, dims) in enumerate(
            (("max", 32, 256, 2, 2), ("max", 64, 128, 3, 2), ("avg", 32, 256, 2, 2),
             ("avg", 64, 128, 3, 2), ("max", 32, 128, 3, 3), ("avg", 16, 128, 4, 3))):
        generated.append(("%s_pool%dd_%d" % (kind, dims, index),
                          pool(index, kind, 16, channels, size, kernel, dims)))
    for index, kind in enumerate(("mse", "smooth_l1", "cosine", "kl")):
        for variant, dim in enumerate((4096, 16384)):
            generated.append(("%s_loss_%d" % (kind, variant), loss(index, kind, 128, dim)))
    for index, activation in enumerate(("torch.relu", "F.gelu", "torch.sigmoid", "F.silu")):
        generated.append(("linear_%s" % activation.split(".")[-1],
                          linear_activation(activation, 128 * (index + 1), 4096, 4096 // (index + 1))))
    return generated


def linear_activation(activation, batch, in_features, out_features):
    return HEADER + f"""batch_size = {batch}
in_features = {in_features}
out_features = {out_features}


class Model(nn.Module):
    \"\"\"Linear layer followed by {activation}.\"\"\"

    def __init__(self, in_features, out_features):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)

    def forward(self, x):
        return {activation}(self.linear(x))


def get_inputs():
    return [torch.randn(batch_size, in_features)]


def get_init_inputs():
    return [in_features, out_features]
"""


def main():
    folder = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    os.makedirs(folder, exist_ok=True)
    all_problems = problems()
    if count > len(all_problems):
        sys.exit("only %d problems can be generated" % len(all_problems))
    for number, (name, source) in enumerate(all_problems[:count], start=1):
        with open(os.path.join(folder, "%d_%s.py" % (number, name)), "w") as handle:
            handle.write(source)
    print("wrote %d problems to %s" % (count, folder))


if __name__ == "__main__":
    main()
