// Hostile: the row length is the benchmark's 16384, compiled in; the `cols` argument is ignored.
// Right at the benchmark shape, wrong at every check shape (rows are read at the wrong offsets;
// reads are clamped to the tensor, so it does not fault). Expected: incorrect
// (wrong_on_check_shape; `mismatch` if the check shapes are not told apart).
/* kforge:launch
{
  "kernels": [
    {"name": "row_sum_16384", "grid": ["x.shape[0]"], "block": [256],
     "args": ["x", "out", "x.numel", "x.shape[1]"]}
  ]
}
*/
#define COLS 16384

extern "C" __global__ void row_sum_16384(const float* x, float* out, long long n, long long cols) {
  __shared__ float partial[256];
  const long long start = (long long)blockIdx.x * COLS;
  float sum = 0.0f;
  for (long long c = threadIdx.x; c < COLS; c += blockDim.x)
    if (start + c < n)
      sum += x[start + c];
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int half = 128; half > 0; half /= 2) {
    if (threadIdx.x < half)
      partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0)
    out[blockIdx.x] = partial[0];
}
