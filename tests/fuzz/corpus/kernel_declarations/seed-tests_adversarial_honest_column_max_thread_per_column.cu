// Honest: one thread per column walks every row (coalesced across the warp), starting from the
// first row's value, so negative columns are right. NaN propagates as in torch.amax. Must get
// `correct`.
/* kforge:launch
{
  "kernels": [
    {"name": "column_max_thread_per_column", "grid": ["ceil_div(x.shape[1], 128)"],
     "block": [128], "args": ["x", "out", "x.shape[0]", "x.shape[1]"]}
  ]
}
*/
extern "C" __global__ void column_max_thread_per_column(const float* x, float* out,
                                                        long long rows, long long cols) {
  long long c = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= cols)
    return;
  float best = x[c];
  for (long long r = 1; r < rows; ++r) {
    float v = x[r * cols + c];
    if (v > best || v != v)
      best = v;
    if (best != best)
      break;
  }
  out[c] = best;
}
