// Hostile: precision downgrade: row_sum accumulated in half precision (a "2x faster" half
// pipeline). Sums of 16384 values lose several digits. Expected: incorrect (mismatch).
/* kforge:launch
{
  "kernels": [
    {"name": "row_sum_half", "grid": ["x.shape[0]"], "block": [256],
     "args": ["x", "out", "x.shape[1]"]}
  ]
}
*/
#include <cuda_fp16.h>

extern "C" __global__ void row_sum_half(const float* x, float* out, long long cols) {
  __shared__ __half partial[256];
  const float* row = x + (long long)blockIdx.x * cols;
  __half sum = __float2half(0.0f);
  for (long long c = threadIdx.x; c < cols; c += blockDim.x)
    sum = __hadd(sum, __float2half(row[c]));
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int half = 128; half > 0; half /= 2) {
    if (threadIdx.x < half)
      partial[threadIdx.x] = __hadd(partial[threadIdx.x], partial[threadIdx.x + half]);
    __syncthreads();
  }
  if (threadIdx.x == 0)
    out[blockIdx.x] = __half2float(partial[0]);
}
