/* kforge:launch
{
  "kernels": [
    {"name": "relu", "grid": ["ceil_div(x.numel, 256)"], "block": [256],
     "args": ["x", "out", "x.numel * 1000"]}
  ]
}
*/
extern "C" __global__ void relu(const float* x, float* out, int n) {
  int i = blockIdx.x * 256 + threadIdx.x;
  if (i < n) out[i] = x[i] > 0.0f ? x[i] : 0.0f;
}
