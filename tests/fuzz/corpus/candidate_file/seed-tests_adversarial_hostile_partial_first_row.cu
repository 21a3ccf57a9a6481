// Hostile: computes relu for the first row only (a benchmark that checks one row, or one
// element, would pass it). Expected: incorrect (unwritten_output).
/* kforge:launch
{
  "kernels": [
    {"name": "relu_first_row", "grid": ["ceil_div(x.shape[1], 256)"], "block": [256],
     "args": ["x", "out", "x.shape[1]"]}
  ]
}
*/
extern "C" __global__ void relu_first_row(const float* x, float* out, long long cols) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < cols)
    out[i] = fmaxf(x[i], 0.0f);
}
