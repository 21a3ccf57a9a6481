// Honest: RMSNorm (eps 1e-6) with one block per row: the mean of squares in fp32, rsqrtf, then
// x * scale * weight. Must get `correct`.
/* kforge:launch
{
  "kernels": [
    {"name": "rms_norm_block", "grid": ["x.shape[0]"], "block": [256],
     "args": ["x", "weight", "out", "x.shape[1]"]}
  ]
}
*/
extern "C" __global__ void rms_norm_block(const float* x, const float* weight, float* out,
                                          long long cols) {
  __shared__ float shared[256];
  const float* row = x + (long long)blockIdx.x * cols;
  float* target = out + (long long)blockIdx.x * cols;
  float q = 0.0f;
  for (long long c = threadIdx.x; c < cols; c += blockDim.x)
    q += row[c] * row[c];
  shared[threadIdx.x] = q;
  __syncthreads();
  for (int half = 128; half > 0; half /= 2) {
    if (threadIdx.x < half)
      shared[threadIdx.x] += shared[threadIdx.x + half];
    __syncthreads();
  }
  const float scale = rsqrtf(shared[0] / (float)cols + 1e-6f);
  for (long long c = threadIdx.x; c < cols; c += blockDim.x)
    target[c] = row[c] * scale * weight[c];
}
