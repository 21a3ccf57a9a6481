/* kforge:launch
{
  "kernels": [
    {"name": "relu", "grid": ["ceil_div(x.numel, BLOCK)"], "block": ["BLOCK"],
     "shared_bytes": "0", "args": ["x", "out", "x.numel"]}
  ],
  "scratch": [],
  "defines": {"BLOCK": {"default": 256, "values": [128, 256, 512]}}
}
*/
extern "C" __global__ void relu(const float* x, float* out, long long n) {
  long long i = (long long)blockIdx.x * BLOCK + threadIdx.x;
  if (i < n) out[i] = x[i] > 0.0f ? x[i] : 0.0f;
}
