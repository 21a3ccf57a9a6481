// Hostile: compiled with __launch_bounds__(256) and launched with a 32 x 16 block: each
// dimension looks small, but 512 threads are twice what the compiled kernel accepts (its PTX
// says .maxntid 256, 1, 1), so the driver would refuse the launch. Expected: plan_error, found
// by the bind stage before anything runs.
/* kforge:launch
{
  "kernels": [
    {"name": "relu_bounded_2d", "grid": ["ceil_div(x.numel, 512)"], "block": [32, 16],
     "args": ["x", "out", "x.numel"]}
  ]
}
*/
extern "C" __global__ void __launch_bounds__(256) relu_bounded_2d(const float* x, float* out,
                                                                  long long n) {
  long long i = (long long)blockIdx.x * 512 + threadIdx.y * 32 + threadIdx.x;
  if (i < n)
    out[i] = fmaxf(x[i], 0.0f);
}
