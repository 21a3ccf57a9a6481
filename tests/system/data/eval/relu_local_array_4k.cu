/* kforge:launch
{
  "kernels": [
    {"name": "relu", "grid": ["ceil_div(x.numel, 256)"], "block": [256],
     "args": ["x", "out", "x.numel"]}
  ]
}
*/
// 4 KiB of local memory per thread: within what a GPU gives a thread, over a configured
// compile.max_local_bytes of 1 KiB (tests/system/evaluation_service_test.cpp).
extern "C" __global__ void relu(const float* x, float* out, long long n) {
  float scratch[1024];
  long long i = blockIdx.x * 256LL + threadIdx.x;
  if (i >= n) return;
  for (int k = 0; k < 1024; ++k) scratch[k] = x[(i + k) % n];
  float sum = 0;
  for (int k = 0; k < 1024; k += 97) sum += scratch[(k * 31 + (int)i) & 1023];
  out[i] = sum > 0.0f ? x[i] : 0.0f;
}
