// Hostile: asks for 1 GiB of dynamic shared memory per block (sm_90 has 227 KiB at most).
// Expected: plan_error.
/* kforge:launch
{
  "kernels": [
    {"name": "relu_shared", "grid": ["ceil_div(x.numel, 256)"], "block": [256],
     "shared_bytes": "1024 * 1024 * 1024", "args": ["x", "out", "x.numel"]}
  ]
}
*/
extern "C" __global__ void relu_shared(const float* x, float* out, long long n) {
  extern __shared__ float staging[];
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) {
    staging[threadIdx.x] = x[i];
    out[i] = fmaxf(staging[threadIdx.x], 0.0f);
  }
}
