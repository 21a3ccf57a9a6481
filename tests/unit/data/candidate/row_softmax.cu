/* kforge:launch
{
  "kernels": [
    {"name": "row_stats",
     "grid": ["ceil_div(x.shape[0], ROWS_PER_BLOCK)"], "block": ["32", "ROWS_PER_BLOCK"],
     "shared_bytes": "0",
     "args": ["x", "stats", "temperature", "x.shape[0]", "x.shape[1]"]},
    {"name": "normalize",
     "grid": ["ceil_div(x.shape[1], 256)", "x.shape[0]"], "block": ["256"],
     "shared_bytes": "0",
     "args": ["x", "stats", "temperature", "out0", "out1", "x.shape[1]"]}
  ],
  "scratch": [{"name": "stats", "dtype": "float32", "numel": "2 * x.shape[0]"}],
  "defines": {"ROWS_PER_BLOCK": {"default": 8, "values": [4, 8, 16, 32]}}
}
*/
// Softmax over rows with a temperature, returning (probabilities, logsumexp).
// row_stats: one warp per row finds the row's maximum m and s = sum(exp(v - m)) of the scaled
// values v = x / temperature in one pass (an online softmax) and leaves (m, s) in `stats`.
// normalize: one thread per element writes exp(v - m) / s, and logsumexp = m + log(s).

__device__ float negative_infinity() { return __int_as_float(0xff800000); }

// Merges the partial (maximum, sum) pair (m2, s2) into (m, s).
__device__ void merge(float& m, float& s, float m2, float s2) {
  float top = fmaxf(m, m2);
  if (top == negative_infinity())
    return;  // both empty
  s = s * expf(m - top) + s2 * expf(m2 - top);
  m = top;
}

extern "C" __global__ void __launch_bounds__(32 * ROWS_PER_BLOCK)
    row_stats(const float* __restrict__ x, float* __restrict__ stats, float temperature,
              int rows, int cols) {
  int row = blockIdx.x * ROWS_PER_BLOCK + threadIdx.y;
  if (row >= rows)
    return;
  const float* line = x + (long long)row * cols;
  float m = negative_infinity();
  float s = 0.0f;
  for (int c = threadIdx.x; c < cols; c += 32)
    merge(m, s, line[c] / temperature, 1.0f);
  for (int offset = 16; offset > 0; offset /= 2) {
    float m2 = __shfl_xor_sync(0xffffffffu, m, offset);
    float s2 = __shfl_xor_sync(0xffffffffu, s, offset);
    merge(m, s, m2, s2);
  }
  if (threadIdx.x == 0) {
    stats[2 * row] = m;
    stats[2 * row + 1] = s;
  }
}

extern "C" __global__ void normalize(const float* __restrict__ x,
                                     const float* __restrict__ stats, float temperature,
                                     float* __restrict__ probabilities,
                                     float* __restrict__ logsumexp, int cols) {
  int row = blockIdx.y;
  int c = blockIdx.x * blockDim.x + threadIdx.x;
  float m = stats[2 * row];
  float s = stats[2 * row + 1];
  if (c < cols)
    probabilities[(long long)row * cols + c] = expf(x[(long long)row * cols + c] / temperature - m) / s;
  if (blockIdx.x == 0 && threadIdx.x == 0)
    logsumexp[row] = m + logf(s);
}
