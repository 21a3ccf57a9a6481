// Hostile: column_max that starts each column's running maximum from out[c], assuming the output
// holds -inf. fmaxf ignores NaN, so under an all-NaN poison this reads garbage and still looks
// right; with stale contents (the previous launch's maxima, e.g. in the timed iterations on new
// inputs) or a finite poison pattern it is wrong. Expected: suspicious (the fresh timed set's
// outputs start from the previous set's maxima); incorrect if verification poisons with a
// finite pattern. If it gets `correct`, the poison is NaN-only and the timed outputs are
// re-poisoned: a hole to close.
/* kforge:launch
{
  "kernels": [
    {"name": "column_max_from_out", "grid": ["ceil_div(x.shape[1], 128)"], "block": [128],
     "args": ["x", "out", "x.shape[0]", "x.shape[1]"]}
  ]
}
*/
extern "C" __global__ void column_max_from_out(const float* x, float* out, long long rows,
                                               long long cols) {
  long long c = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= cols)
    return;
  float best = out[c];
  for (long long r = 0; r < rows; ++r)
    best = fmaxf(best, x[r * cols + c]);
  out[c] = best;
}
