// Hostile: asks for exactly the 227 KiB of dynamic shared memory a block may have on sm_90,
// which the plan limit allows, while the kernel also declares 1 KiB of static shared memory:
// together one KiB over what a block can have, so the driver would refuse the launch. Expected:
// plan_error, from the bind stage adding the compiled static size (ptxas) to the dynamic size.
/* kforge:launch
{
  "kernels": [
    {"name": "relu_staged_full", "grid": ["ceil_div(x.numel, 256)"], "block": [256],
     "shared_bytes": "227 * 1024", "args": ["x", "out", "x.numel"]}
  ]
}
*/
extern "C" __global__ void relu_staged_full(const float* x, float* out, long long n) {
  __shared__ float fixed[256];
  extern __shared__ float dynamic[];
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  fixed[threadIdx.x] = i < n ? x[i] : 0.0f;
  dynamic[threadIdx.x] = fmaxf(fixed[threadIdx.x], 0.0f);
  __syncthreads();
  if (i < n)
    out[i] = dynamic[threadIdx.x];
}
