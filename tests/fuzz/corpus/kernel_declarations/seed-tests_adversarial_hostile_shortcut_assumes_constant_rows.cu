// Hostile: a shortcut valid only on constant rows: LayerNorm of a constant row is the bias
// (x - mean is 0), so it writes the bias and reads no input at all. Expected: incorrect
// (mismatch).
/* kforge:launch
{
  "kernels": [
    {"name": "layer_norm_bias_only", "grid": ["ceil_div(x.numel, 256)"], "block": [256],
     "args": ["x", "norm.weight", "norm.bias", "out", "x.numel", "x.shape[1]"]}
  ]
}
*/
extern "C" __global__ void layer_norm_bias_only(const float* x, const float* weight,
                                                const float* bias, float* out, long long n,
                                                long long cols) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    out[i] = bias[i % cols];
}
