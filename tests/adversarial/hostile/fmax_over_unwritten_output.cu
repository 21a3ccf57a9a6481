// Hostile: relu as fmaxf(out, fmaxf(x, 0)): it reads the output it should only write. fmaxf
// ignores a NaN operand, so over an output poisoned with NaN bytes the result is right; over the
// large finite poison of the other repeat the poison wins and stays. Expected: incorrect
// (unwritten_output: one repeat's output still holds its poison pattern).
/* kforge:launch
{
  "kernels": [
    {"name": "relu_fmax_out", "grid": ["ceil_div(x.numel, 256)"], "block": [256],
     "args": ["x", "out", "x.numel"]}
  ]
}
*/
extern "C" __global__ void relu_fmax_out(const float* x, float* out, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    out[i] = fmaxf(out[i], fmaxf(x[i], 0.0f));
}
