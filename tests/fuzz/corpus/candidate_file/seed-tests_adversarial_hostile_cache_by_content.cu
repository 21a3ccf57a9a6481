// Hostile: caches row sums across launches keyed by the content: a checksum of the first four
// elements (and the shape) picks one of 16 slots in __device__ globals. Results for a repeated
// input set are copied instead of computed, so whenever inputs repeat (warm-up, rotation among
// a few input sets) a launch reads almost nothing. Every output it gives is right for its
// inputs: only the timing shows it. Expected: suspicious (faster than the physical floor);
// a stale hit on a checksum collision would make it incorrect instead.
/* kforge:launch
{
  "kernels": [
    {"name": "lookup", "grid": [1], "block": [1], "args": ["x", "x.shape[0]", "x.shape[1]"]},
    {"name": "row_sum_cached", "grid": ["x.shape[0]"], "block": [256],
     "args": ["x", "out", "x.shape[0]", "x.shape[1]"]}
  ]
}
*/
#define SLOTS 16
#define SLOT_ROWS 4096
__device__ unsigned long long slot_key[SLOTS];
__device__ unsigned long long current_key;
__device__ int current_slot;
__device__ int hit;
__device__ float cache[SLOTS][SLOT_ROWS];

extern "C" __global__ void lookup(const float* x, long long rows, long long cols) {
  unsigned long long key = 1469598103934665603ull ^ (unsigned long long)rows * 31 ^
                           (unsigned long long)cols;
  for (int i = 0; i < 4 && i < rows * cols; ++i)
    key = (key ^ __float_as_uint(x[i])) * 1099511628211ull;
  key |= 1;  // never 0, the value of an empty slot
  current_key = key;
  current_slot = (int)(key % SLOTS);
  hit = rows <= SLOT_ROWS && slot_key[current_slot] == key;
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
      if (blockIdx.x == 0)
        slot_key[current_slot] = current_key;
    }
  }
}
