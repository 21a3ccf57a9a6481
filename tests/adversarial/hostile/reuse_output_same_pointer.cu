// Hostile: remembers the output address of its last launch and a copy of what it wrote there;
// when the output pointer repeats it writes the copy back instead of reading the input (the
// poison before each launch wipes the buffer, so the copy is kept in a __device__ array).
// Repeats of one request share their buffers and inputs, so they pass; a later request whose
// output lands at the same address (allocators reuse freed blocks) gets stale sums, and while
// timed the output buffer never moves, so every iteration after the first is stale. Expected:
// incorrect (mismatch at a later seed); or suspicious (behaves_differently_when_timed).
/* kforge:launch
{
  "kernels": [
    {"name": "check_output_pointer", "grid": [1], "block": [1], "args": ["out", "x.shape[0]"]},
    {"name": "row_sum_reuse", "grid": ["x.shape[0]"], "block": [256],
     "args": ["x", "out", "x.shape[0]", "x.shape[1]"]}
  ]
}
*/
#define SAVED_ROWS 4096
__device__ unsigned long long last_output;
__device__ long long last_rows;
__device__ int reuse;
__device__ float saved[SAVED_ROWS];

extern "C" __global__ void check_output_pointer(float* out, long long rows) {
  const unsigned long long address = (unsigned long long)out;
  reuse = rows <= SAVED_ROWS && last_output == address && last_rows == rows;
  last_output = address;
  last_rows = rows;
}

extern "C" __global__ void row_sum_reuse(const float* x, float* out, long long rows,
                                         long long cols) {
  __shared__ float partial[256];
  if (reuse) {
    if (threadIdx.x == 0)
      out[blockIdx.x] = saved[blockIdx.x];
    return;
  }
  const float* row = x + (long long)blockIdx.x * cols;
  float sum = 0.0f;
  for (long long c = threadIdx.x; c < cols; c += blockDim.x)
    sum += row[c];
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int half = 128; half > 0; half /= 2) {
    if (threadIdx.x < half)
      partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    out[blockIdx.x] = partial[0];
    if (rows <= SAVED_ROWS)
      saved[blockIdx.x] = partial[0];
  }
}
