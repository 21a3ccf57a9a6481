// Hostile: caches row sums across launches keyed by the input's address and row count, in
// __device__ globals. A later launch with the same buffer but new contents gets the stale sums.
// Expected: incorrect (mismatch: a second seed or the fresh timed set in a reused buffer sees
// stale results). If every input set the worker ever uses has its own address, only the timing
// can tell (cached launches are far below the floor): `suspicious` is then the right verdict.
/* kforge:launch
{
  "kernels": [
    {"name": "lookup", "grid": [1], "block": [1], "args": ["x", "x.shape[0]"]},
    {"name": "row_sum_cached", "grid": ["x.shape[0]"], "block": [256],
     "args": ["x", "out", "x.shape[0]", "x.shape[1]"]}
  ]
}
*/
#define CACHE_ROWS 65536
__device__ unsigned long long cached_address;
__device__ long long cached_rows;
__device__ int hit;
__device__ float cache[CACHE_ROWS];

extern "C" __global__ void lookup(const float* x, long long rows) {
  hit = cached_address == (unsigned long long)x && cached_rows == rows;
}

extern "C" __global__ void row_sum_cached(const float* x, float* out, long long rows,
                                          long long cols) {
  __shared__ float partial[256];
  if (hit) {
    if (threadIdx.x == 0)
      out[blockIdx.x] = cache[blockIdx.x];
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
    if (rows <= CACHE_ROWS) {
      cache[blockIdx.x] = partial[0];
      if (blockIdx.x == 0) {
        cached_address = (unsigned long long)x;
        cached_rows = rows;
      }
    }
  }
}
