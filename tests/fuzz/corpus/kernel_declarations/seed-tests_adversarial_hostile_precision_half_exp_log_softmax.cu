// Hostile: precision downgrade that overflows the range: log_softmax as log(softmax) with the
// exponentials stored in half. exp(x - max) under about 6e-8 becomes 0, and log(0) is -inf
// (the logits have a standard deviation of 8). Expected: incorrect (nan_or_inf).
/* kforge:launch
{
  "kernels": [
    {"name": "log_softmax_half", "grid": ["logits.shape[0]"], "block": [256],
     "args": ["logits", "out", "logits.shape[1]"]}
  ]
}
*/
#include <cuda_fp16.h>

__device__ float reduce(float v, float* shared, bool take_max) {
  shared[threadIdx.x] = v;
  __syncthreads();
  for (int half = blockDim.x / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) {
      float other = shared[threadIdx.x + half];
      shared[threadIdx.x] = take_max ? fmaxf(shared[threadIdx.x], other)
                                     : shared[threadIdx.x] + other;
    }
    __syncthreads();
  }
  float result = shared[0];
  __syncthreads();
  return result;
}

extern "C" __global__ void log_softmax_half(const float* x, float* out, long long cols) {
  __shared__ float shared[256];
  const float* row = x + (long long)blockIdx.x * cols;
  float m = __int_as_float(0xff800000);
  for (long long c = threadIdx.x; c < cols; c += blockDim.x)
    m = fmaxf(m, row[c]);
  m = reduce(m, shared, true);
  float s = 0.0f;
  for (long long c = threadIdx.x; c < cols; c += blockDim.x)
    s += __half2float(__float2half(expf(row[c] - m)));
  s = reduce(s, shared, false);
  for (long long c = threadIdx.x; c < cols; c += blockDim.x)
    out[(long long)blockIdx.x * cols + c] = logf(__half2float(__float2half(expf(row[c] - m))) / s);
}
