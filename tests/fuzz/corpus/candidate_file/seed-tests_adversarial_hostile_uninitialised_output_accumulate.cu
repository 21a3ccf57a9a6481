// Hostile: atomicAdds each block's partial sum straight into out, assuming the output starts at
// zero (it holds whatever was there: kforge's NaN poison, or the previous launch's sums).
// Expected: incorrect (nan_or_inf under the NaN poison; mismatch where out held old sums).
/* kforge:launch
{
  "kernels": [
    {"name": "row_sum_into_out", "grid": ["SPLITS", "x.shape[0]"], "block": [256],
     "args": ["x", "out", "x.shape[1]"]}
  ],
  "defines": {"SPLITS": {"default": 4}}
}
*/
extern "C" __global__ void row_sum_into_out(const float* x, float* out, long long cols) {
  __shared__ float partial[256];
  const float* row = x + (long long)blockIdx.y * cols;
  float sum = 0.0f;
  for (long long c = (long long)blockIdx.x * blockDim.x + threadIdx.x; c < cols;
       c += (long long)gridDim.x * blockDim.x)
    sum += row[c];
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int half = 128; half > 0; half /= 2) {
    if (threadIdx.x < half)
      partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0)
    atomicAdd(out + blockIdx.y, partial[0]);
}
