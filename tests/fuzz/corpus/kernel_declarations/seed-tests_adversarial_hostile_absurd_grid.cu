// Hostile: a grid over the hardware's limits (y is at most 65535): the plan check must refuse it
// before anything launches. Expected: plan_error.
/* kforge:launch
{
  "kernels": [
    {"name": "relu_2d", "grid": ["x.shape[1]", "x.numel"], "block": [1],
     "args": ["x", "out", "x.shape[1]"]}
  ]
}
*/
extern "C" __global__ void relu_2d(const float* x, float* out, long long cols) {
  long long i = (long long)blockIdx.y * cols + blockIdx.x;
  out[i] = fmaxf(x[i], 0.0f);
}
