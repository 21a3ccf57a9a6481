/* kforge:launch
{
  "kernels": [
    {"name": "relu", "grid": ["ceil_div(x.numel, 256)"], "block": [256],
     "args": ["x", "out", "x.numel"]}
  ]
}
*/
extern "C" __global__ void relu(const float* x, float* out, long long n) {
  long long i = blockIdx.x * 256 + threadIdx.x;
  if (i < n) out[i] = undefined_function(x[i]);
}
