/* kforge:launch
{
  "kernels": [
    {"name": "relu", "grid": ["ceil_div(x.numel, 256)"], "block": [256],
     "shared_bytes": "0", "args": ["x", "out", "x.numel"]}
  ],
  "arch": "sm_90a"
}
*/
// wgmma.fence exists only in the architecture-specific sm_90a target: without the plan's
// "arch", this does not compile for sm_90.
extern "C" __global__ void relu(const float* x, float* out, long long n) {
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
  long long i = (long long)blockIdx.x * 256 + threadIdx.x;
  if (i < n) out[i] = x[i] > 0.0f ? x[i] : 0.0f;
}
