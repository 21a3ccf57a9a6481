// Hostile: applies relu to x in place, then copies x to out. The output is right; the input is
// destroyed. Expected: incorrect (inputs_modified).
/* kforge:launch
{
  "kernels": [
    {"name": "relu_in_place", "grid": ["ceil_div(x.numel, 256)"], "block": [256],
     "args": ["x", "x.numel"]},
    {"name": "copy_out", "grid": ["ceil_div(x.numel, 256)"], "block": [256],
     "args": ["x", "out", "x.numel"]}
  ]
}
*/
extern "C" __global__ void relu_in_place(float* x, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    x[i] = fmaxf(x[i], 0.0f);
}

extern "C" __global__ void copy_out(const float* x, float* out, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    out[i] = x[i];
}
