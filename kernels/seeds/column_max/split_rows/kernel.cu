// Seed kernel for the built-in task `column_max`: out[c] = max over rows of x[r, c] (torch.amax
// with dim=0), NaN propagating as in torch. Two kernels: the rows are cut into ROW_SPLITS
// chunks so that a tall, narrow matrix still fills the GPU; in `column_max_partial` each thread
// owns one column of one chunk (consecutive threads read consecutive columns: coalesced), four
// rows in flight, and writes the chunk's maximum to the scratch buffer; `column_max_finish`
// reduces the ROW_SPLITS partial maxima of each column. Any shape; 64-bit offsets.
// Hand-written seed; NOT yet verified on a GPU (compiled only).
/* kforge:launch
{
  "kernels": [
    {"name": "column_max_partial", "grid": ["ceil_div(x.shape[1], BLOCK)", "ROW_SPLITS"],
     "block": ["BLOCK"], "shared_bytes": "0",
     "args": ["x", "partial", "x.shape[0]", "x.shape[1]"]},
    {"name": "column_max_finish", "grid": ["ceil_div(x.shape[1], BLOCK)"], "block": ["BLOCK"],
     "shared_bytes": "0", "args": ["partial", "out", "x.shape[1]"]}
  ],
  "scratch": [{"name": "partial", "dtype": "float32", "numel": "ROW_SPLITS * x.shape[1]"}],
  "defines": {
    "BLOCK": {"default": 128, "values": [32, 64, 128, 256]},
    "ROW_SPLITS": {"default": 128, "values": [16, 32, 64, 128, 256]}
  },
  "constraints": [
    "BLOCK % 32 == 0 && BLOCK >= 64"
  ]
}
*/
// NVRTC provides no <math.h>, so no INFINITY macro: +inf from its bit pattern.
#define POSITIVE_INFINITY __int_as_float(0x7f800000)
#ifndef BLOCK
#define BLOCK 128
#endif
#ifndef ROW_SPLITS
#define ROW_SPLITS 128
#endif

// max that keeps a NaN once one is seen (torch.amax propagates NaN; fmaxf would drop it).
__device__ __forceinline__ float nan_max(float a, float b) {
  return (b > a || b != b) ? b : a;
}

extern "C" __global__ void __launch_bounds__(BLOCK)
    column_max_partial(const float* __restrict__ x, float* __restrict__ partial, long long rows,
                       long long cols) {
  const long long col = (long long)blockIdx.x * BLOCK + threadIdx.x;
  if (col >= cols)
    return;
  const long long chunk = (rows + ROW_SPLITS - 1) / ROW_SPLITS;
  const long long begin = blockIdx.y * chunk;
  const long long end = min(begin + chunk, rows);
  float a = -POSITIVE_INFINITY, b = -POSITIVE_INFINITY, c = -POSITIVE_INFINITY,
        d = -POSITIVE_INFINITY;
  long long row = begin;
  for (; row + 3 < end; row += 4) {
    a = nan_max(a, __ldg(x + row * cols + col));
    b = nan_max(b, __ldg(x + (row + 1) * cols + col));
    c = nan_max(c, __ldg(x + (row + 2) * cols + col));
    d = nan_max(d, __ldg(x + (row + 3) * cols + col));
  }
  for (; row < end; ++row)
    a = nan_max(a, __ldg(x + row * cols + col));
  partial[blockIdx.y * cols + col] = nan_max(nan_max(a, b), nan_max(c, d));
}

extern "C" __global__ void __launch_bounds__(BLOCK)
    column_max_finish(const float* __restrict__ partial, float* __restrict__ out, long long cols) {
  const long long col = (long long)blockIdx.x * BLOCK + threadIdx.x;
  if (col >= cols)
    return;
  float best = -POSITIVE_INFINITY;
#pragma unroll 8
  for (int split = 0; split < ROW_SPLITS; ++split)
    best = nan_max(best, partial[split * cols + col]);
  out[col] = best;
}
