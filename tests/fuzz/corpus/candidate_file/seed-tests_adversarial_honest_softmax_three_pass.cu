// Honest: one block per row, three passes (max, sum of exp(x - max), write), fp32, shared-memory
// trees with barriers. Must get `correct`.
/* kforge:launch
{
  "kernels": [
    {"name": "softmax_three_pass", "grid": ["x.shape[0]"], "block": [256],
     "args": ["x", "out", "x.shape[1]"]}
  ]
}
*/
__device__ float block_max(float v, float* shared) {
  shared[threadIdx.x] = v;
  __syncthreads();
  for (int half = blockDim.x / 2; half > 0; half /= 2) {
    if (threadIdx.x < half)
      shared[threadIdx.x] = fmaxf(shared[threadIdx.x], shared[threadIdx.x + half]);
    __syncthreads();
  }
  float result = shared[0];
  __syncthreads();
  return result;
}

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

extern "C" __global__ void softmax_three_pass(const float* x, float* out, long long cols) {
  __shared__ float shared[256];
  const float* row = x + (long long)blockIdx.x * cols;
  float* target = out + (long long)blockIdx.x * cols;
  float m = __int_as_float(0xff800000);
  for (long long c = threadIdx.x; c < cols; c += blockDim.x)
    m = fmaxf(m, row[c]);
  m = block_max(m, shared);
  float s = 0.0f;
  for (long long c = threadIdx.x; c < cols; c += blockDim.x)
    s += expf(row[c] - m);
  s = block_sum(s, shared);
  for (long long c = threadIdx.x; c < cols; c += blockDim.x)
    target[c] = expf(row[c] - m) / s;
}
