// Hostile: keeps row sums across launches in __device__ globals keyed by the shape (rows and
// columns), not by the input's address: a launch on a shape it has seen copies the old sums.
// Repeats on the same inputs agree; the next seed at the same shape gets the first seed's sums
// (the module, and its globals, live as long as the worker). Expected: incorrect (mismatch at
// the second seed); suspicious is also right where the module did not outlive a request and
// the fresh timed set is served the warm-up's sums.
/* kforge:launch
{
  "kernels": [
    {"name": "lookup_shape", "grid": [1], "block": [1], "args": ["x.shape[0]", "x.shape[1]"]},
    {"name": "row_sum_by_shape", "grid": ["x.shape[0]"], "block": [256],
     "args": ["x", "out", "x.shape[0]", "x.shape[1]"]}
  ]
}
*/
#define SLOTS 4
#define SLOT_ROWS 4096
__device__ long long slot_rows[SLOTS];
__device__ long long slot_cols[SLOTS];
__device__ int current_slot;
__device__ int hit;
__device__ float cache[SLOTS][SLOT_ROWS];

extern "C" __global__ void lookup_shape(long long rows, long long cols) {
  current_slot = (int)((rows * 31 + cols) % SLOTS);
  hit = rows <= SLOT_ROWS && slot_rows[current_slot] == rows && slot_cols[current_slot] == cols;
}

extern "C" __global__ void row_sum_by_shape(const float* x, float* out, long long rows,
                                            long long cols) {
  __shared__ float partial[256];
  if (hit) {
    if (threadIdx.x == 0)
      out[blockIdx.x] = cache[current_slot][blockIdx.x];
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
    if (rows <= SLOT_ROWS) {
      cache[current_slot][blockIdx.x] = partial[0];
      if (blockIdx.x == 0) {
        slot_rows[current_slot] = rows;
        slot_cols[current_slot] = cols;
      }
    }
  }
}
