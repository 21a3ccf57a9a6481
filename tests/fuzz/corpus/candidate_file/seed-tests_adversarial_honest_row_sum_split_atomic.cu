// Honest: split each row over SPLITS blocks that atomicAdd their partial sums into `out`, after
// a first kernel zeroes `out`. The order of the float atomics changes between runs, so the
// results differ in the last bits: within rounding, which the race check must accept. Must get
// `correct` (a false `non_deterministic` here is a bug in the race check).
/* kforge:launch
{
  "kernels": [
    {"name": "zero_rows", "grid": ["ceil_div(x.shape[0], 256)"], "block": [256],
     "args": ["out", "x.shape[0]"]},
    {"name": "row_sum_split_atomic", "grid": ["SPLITS", "x.shape[0]"], "block": [256],
     "args": ["x", "out", "x.shape[1]"]}
  ],
  "defines": {"SPLITS": {"default": 8, "values": [4, 8]}}
}
*/
extern "C" __global__ void zero_rows(float* out, long long rows) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < rows)
    out[i] = 0.0f;
}

extern "C" __global__ void row_sum_split_atomic(const float* x, float* out, long long cols) {
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
