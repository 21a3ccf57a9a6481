// Hostile: uses the input as scratch space: softmax writes exp(x - max) over x, then normalises
// from there (saving a scratch buffer and a recomputation of exp). Expected: incorrect
// (inputs_modified).
/* kforge:launch
{
  "kernels": [
    {"name": "softmax_over_input", "grid": ["x.shape[0]"], "block": [256],
     "args": ["x", "out", "x.shape[1]"]}
  ]
}
*/
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

extern "C" __global__ void softmax_over_input(float* x, float* out, long long cols) {
  __shared__ float shared[256];
  float* row = x + (long long)blockIdx.x * cols;
  float m = __int_as_float(0xff800000);
  for (long long c = threadIdx.x; c < cols; c += blockDim.x)
    m = fmaxf(m, row[c]);
  m = reduce(m, shared, true);
  float s = 0.0f;
  for (long long c = threadIdx.x; c < cols; c += blockDim.x) {
    row[c] = expf(row[c] - m);
    s += row[c];
  }
  s = reduce(s, shared, false);
  for (long long c = threadIdx.x; c < cols; c += blockDim.x)
    out[(long long)blockIdx.x * cols + c] = row[c] / s;
}
