// Hostile: sums every 8th element of each row and multiplies by 8: a statistical estimate that
// reads 1/8 of the data. Every output is written, and wrong. Expected: incorrect (mismatch).
/* kforge:launch
{
  "kernels": [
    {"name": "row_sum_subsample", "grid": ["x.shape[0]"], "block": [256],
     "args": ["x", "out", "x.shape[1]"]}
  ]
}
*/
extern "C" __global__ void row_sum_subsample(const float* x, float* out, long long cols) {
  __shared__ float partial[256];
  const float* row = x + (long long)blockIdx.x * cols;
  float sum = 0.0f;
  for (long long c = 8 * threadIdx.x; c < cols; c += 8 * blockDim.x)
    sum += row[c];
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int half = 128; half > 0; half /= 2) {
    if (threadIdx.x < half)
      partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0)
    out[blockIdx.x] = 8.0f * partial[0];
}
