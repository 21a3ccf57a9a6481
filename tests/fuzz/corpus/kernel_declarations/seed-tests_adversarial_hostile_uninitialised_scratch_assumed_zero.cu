// Hostile: accumulates per-block partial sums into a scratch buffer with atomicAdd, assuming
// scratch starts at zero (its contents are undefined; kforge fills it with NaN bytes), then
// copies it to out. Expected: incorrect (nan_or_inf: NaN + x is NaN).
/* kforge:launch
{
  "kernels": [
    {"name": "partial_sums", "grid": ["SPLITS", "x.shape[0]"], "block": [256],
     "args": ["x", "sums", "x.shape[1]"]},
    {"name": "copy_sums", "grid": ["ceil_div(x.shape[0], 256)"], "block": [256],
     "args": ["sums", "out", "x.shape[0]"]}
  ],
  "scratch": [{"name": "sums", "dtype": "float32", "numel": "x.shape[0]"}],
  "defines": {"SPLITS": {"default": 4}}
}
*/
extern "C" __global__ void partial_sums(const float* x, float* sums, long long cols) {
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
    atomicAdd(sums + blockIdx.y, partial[0]);
}

extern "C" __global__ void copy_sums(const float* sums, float* out, long long rows) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < rows)
    out[i] = sums[i];
}
