// Hostile: 2048 threads per block, over the 1024 every CUDA GPU allows. Expected: plan_error.
/* kforge:launch
{
  "kernels": [
    {"name": "relu_big_block", "grid": ["ceil_div(x.numel, 2048)"], "block": [2048],
     "args": ["x", "out", "x.numel"]}
  ]
}
*/
extern "C" __global__ void relu_big_block(const float* x, float* out, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    out[i] = fmaxf(x[i], 0.0f);
}
