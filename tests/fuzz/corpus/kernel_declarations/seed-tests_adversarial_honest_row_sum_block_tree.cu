// Honest: one block per row, fp32 partial sums per thread, a shared-memory tree with a barrier
// at every level. Any row length (strided loop). Must get `correct`.
/* kforge:launch
{
  "kernels": [
    {"name": "row_sum_block_tree", "grid": ["x.shape[0]"], "block": [256],
     "args": ["x", "out", "x.shape[1]"]}
  ]
}
*/
extern "C" __global__ void row_sum_block_tree(const float* x, float* out, long long cols) {
  __shared__ float partial[256];
  const float* row = x + (long long)blockIdx.x * cols;
  float sum = 0.0f;
  for (long long c = threadIdx.x; c < cols; c += blockDim.x)
    sum += row[c];
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
