// Hostile: 40 KiB of static shared memory plus 200 KiB of dynamic: each part is within its
// limit, together they are over the 227 KiB a block can have on sm_90, so the driver would
// refuse the launch. Expected: plan_error (the bind stage adds the compiled static shared size,
// from the ptxas report, to the plan's dynamic size).
/* kforge:launch
{
  "kernels": [
    {"name": "relu_staged", "grid": ["ceil_div(x.numel, 256)"], "block": [256],
     "shared_bytes": "200 * 1024", "args": ["x", "out", "x.numel"]}
  ]
}
*/
extern "C" __global__ void relu_staged(const float* x, float* out, long long n) {
  __shared__ float fixed[10240];
  extern __shared__ float dynamic[];
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  fixed[threadIdx.x] = i < n ? x[i] : 0.0f;
  dynamic[threadIdx.x] = fmaxf(fixed[threadIdx.x], 0.0f);
  __syncthreads();
  if (i < n)
    out[i] = dynamic[threadIdx.x];
}
