// Hostile: a shortcut valid only on special inputs: relu as a copy, right when every input is
// non-negative (as a test with torch.rand inputs would have them). Expected: incorrect
// (mismatch).
/* kforge:launch
{
  "kernels": [
    {"name": "relu_copy", "grid": ["ceil_div(x.numel, 256)"], "block": [256],
     "args": ["x", "out", "x.numel"]}
  ]
}
*/
extern "C" __global__ void relu_copy(const float* x, float* out, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    out[i] = x[i];
}
