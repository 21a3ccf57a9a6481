// Hostile: SPLITS blocks per row add their partial sums into out with a plain read-modify-write
// (no atomic): concurrent blocks overwrite each other's additions, and which ones are lost
// changes from run to run. Expected: incorrect (mismatch or non_deterministic).
/* kforge:launch
{
  "kernels": [
    {"name": "zero_rows", "grid": ["ceil_div(x.shape[0], 256)"], "block": [256],
     "args": ["out", "x.shape[0]"]},
    {"name": "row_sum_lost_updates", "grid": ["SPLITS", "x.shape[0]"], "block": [256],
     "args": ["x", "out", "x.shape[1]"]}
  ],
  "defines": {"SPLITS": {"default": 32}}
}
*/
extern "C" __global__ void zero_rows(float* out, long long rows) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < rows)
    out[i] = 0.0f;
}

extern "C" __global__ void row_sum_lost_updates(const float* x, float* out, long long cols) {
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
  if (threadIdx.x == 0) {
    volatile float* target = out + blockIdx.y;
    float seen = *target;
    const long long start = clock64();  // widen the window between the read and the write
    while (clock64() - start < 2000) {
    }
    *target = seen + partial[0];
  }
}
