// Hostile: caches row sums across launches in 16 __device__ slots keyed by the input's address
// and row count. A launch on a buffer it has seen copies the old sums instead of reading the
// input: far below the physical floor while timing rotates among a few input sets, and stale
// when a buffer is reused with new contents. Expected: suspicious (faster than the floor, or
// the fresh timed set served stale sums); incorrect is also right when the module outlives one
// request and a second seed lands in a reused buffer.
/* kforge:launch
{
  "kernels": [
    {"name": "lookup", "grid": [1], "block": [1], "args": ["x", "x.shape[0]"]},
    {"name": "row_sum_cached", "grid": ["x.shape[0]"], "block": [256],
     "args": ["x", "out", "x.shape[0]", "x.shape[1]"]}
  ]
}
*/
#define SLOTS 16
#define SLOT_ROWS 4096
__device__ unsigned long long slot_address[SLOTS];
__device__ long long slot_rows[SLOTS];
__device__ int current_slot;
__device__ int hit;
__device__ float cache[SLOTS][SLOT_ROWS];

extern "C" __global__ void lookup(const float* x, long long rows) {
  const unsigned long long address = (unsigned long long)x;
  current_slot = (int)((address >> 8) % SLOTS);
  hit = rows <= SLOT_ROWS && slot_address[current_slot] == address &&
        slot_rows[current_slot] == rows;
}

extern "C" __global__ void row_sum_cached(const float* x, float* out, long long rows,
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
        slot_address[current_slot] = (unsigned long long)x;
        slot_rows[current_slot] = rows;
      }
    }
  }
}
