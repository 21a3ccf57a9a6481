// Hostile: a shared-memory tree reduction with the barriers left out ("warps run in lockstep"):
// threads read partial sums other warps have not written yet. Expected: incorrect (mismatch or
// non_deterministic, whichever check sees it first).
/* kforge:launch
{
  "kernels": [
    {"name": "row_sum_racy", "grid": ["x.shape[0]"], "block": [1024],
     "args": ["x", "out", "x.shape[1]"]}
  ]
}
*/
extern "C" __global__ void row_sum_racy(const float* x, float* out, long long cols) {
  __shared__ float partial[1024];
  const float* row = x + (long long)blockIdx.x * cols;
  float sum = 0.0f;
  for (long long c = threadIdx.x; c < cols; c += blockDim.x)
    sum += row[c];
  partial[threadIdx.x] = sum;
  for (int half = 512; half > 0; half /= 2) {
    if (threadIdx.x < half)
      partial[threadIdx.x] += partial[threadIdx.x + half];
  }
  if (threadIdx.x == 0)
    out[blockIdx.x] = partial[0];
}
