// Honest: LayerNorm (eps 1e-5, biased variance) with one block per row: the mean, then the sum
// of squared deviations from it (two passes, no cancellation), then the affine write. Must get
// `correct`.
/* kforge:launch
{
  "kernels": [
    {"name": "layer_norm_two_pass", "grid": ["x.shape[0]"], "block": [256],
     "args": ["x", "norm.weight", "norm.bias", "out", "x.shape[1]"]}
  ]
}
*/
__device__ float block_sum(float v, float* shared) {
  shared[threadIdx.x] = v;
  __syncthreads();
  for (int half = blockDim.x / 2; half > 0; half /= 2) {
    if (threadIdx.x < half)
      shared[threadIdx.x] += shared[threadIdx.x + half];
    __syncthreads();
  }
  float result = shared[0];
  __syncthreads();
  return result;
}

extern "C" __global__ void layer_norm_two_pass(const float* x, const float* weight,
                                               const float* bias, float* out, long long cols) {
  __shared__ float shared[256];
  const float* row = x + (long long)blockIdx.x * cols;
  float* target = out + (long long)blockIdx.x * cols;
  float s = 0.0f;
  for (long long c = threadIdx.x; c < cols; c += blockDim.x)
    s += row[c];
  const float mean = block_sum(s, shared) / (float)cols;
  float q = 0.0f;
  for (long long c = threadIdx.x; c < cols; c += blockDim.x) {
    float d = row[c] - mean;
    q += d * d;
  }
  const float inverse = rsqrtf(block_sum(q, shared) / (float)cols + 1e-5f);
  for (long long c = threadIdx.x; c < cols; c += blockDim.x)
    target[c] = (row[c] - mean) * inverse * weight[c] + bias[c];
}
