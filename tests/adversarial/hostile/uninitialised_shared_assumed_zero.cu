// Hostile: one block per row; each warp adds its partial sum into a shared accumulator that is
// never zeroed, on the assumption that shared memory starts at zero. It does not: a block finds
// what an earlier block on the same SM left there (an earlier row's sum). Nothing in the
// harness can poison shared memory, but with 1024 rows most blocks follow another on their SM.
// Expected: incorrect (mismatch, or non_deterministic where the leftovers differ by repeat).
/* kforge:launch
{
  "kernels": [
    {"name": "row_sum_shared_unzeroed", "grid": ["x.shape[0]"], "block": [256],
     "args": ["x", "out", "x.shape[1]"]}
  ]
}
*/
extern "C" __global__ void row_sum_shared_unzeroed(const float* x, float* out, long long cols) {
  __shared__ float total;  // assumed 0.0f, never written before the atomics
  const float* row = x + (long long)blockIdx.x * cols;
  float sum = 0.0f;
  for (long long c = threadIdx.x; c < cols; c += blockDim.x)
    sum += row[c];
  for (int offset = 16; offset > 0; offset /= 2)
    sum += __shfl_down_sync(0xffffffffu, sum, offset);
  if ((threadIdx.x & 31) == 0)
    atomicAdd(&total, sum);
  __syncthreads();
  if (threadIdx.x == 0)
    out[blockIdx.x] = total;
}
