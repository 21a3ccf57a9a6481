/* kforge:launch
{
  "kernels": [
    {"name": "relu", "grid": ["ceil_div(x.numel, 256)"], "block": [256],
     "args": ["x", "out", "x.numel"]}
  ]
}
*/
// 4 MiB of local memory per thread: it compiles, but no GPU could launch it.
extern "C" __global__ void relu(const float* x, float* out, long long n) {
  float scratch[1 << 20];
  long long i = blockIdx.x * 256LL + threadIdx.x;
  if (i >= n) return;
  for (int k = 0; k < (1 << 20); ++k) scratch[k] = x[(i + k) % n];
  float sum = 0;
  for (int k = 0; k < (1 << 20); k += 4097) sum += scratch[(k * 31 + (int)i) & ((1 << 20) - 1)];
  out[i] = sum > 0.0f ? x[i] : 0.0f;
}
