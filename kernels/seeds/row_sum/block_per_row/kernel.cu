// Seed kernel for the built-in task `row_sum`: out[r] = sum of row r of a 2-D tensor.
// One block per row; each thread accumulates a strided slice (float4 loads when the row is
// 16-byte aligned, scalar otherwise, so any row length works), then warp shuffles and one
// shared-memory step reduce the block. 64-bit row offsets.
// Hand-written seed; NOT yet verified on a GPU (compiled only).
/* kforge:launch
{
  "kernels": [
    {"name": "row_sum_forward", "grid": ["x.shape[0]"], "block": ["BLOCK"],
     "shared_bytes": "0", "args": ["x", "out", "x.shape[1]"]}
  ],
  "scratch": [],
  "defines": {
    "BLOCK": {"default": 512, "values": [128, 256, 512, 1024]},
    "VEC": {"default": 4, "values": [1, 4]}
  },
  "constraints": [
    "BLOCK % 32 == 0 && BLOCK <= 1024",
    "BLOCK * VEC <= 2048"
  ]
}
*/
#ifndef BLOCK
#define BLOCK 512
#endif
#ifndef VEC
#define VEC 4
#endif

static_assert(BLOCK % 32 == 0 && BLOCK <= 1024, "BLOCK must be a multiple of 32, at most 1024");
static_assert(VEC == 1 || VEC == 4, "VEC must be 1 or 4");

__device__ __forceinline__ float warp_sum(float value) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1)
    value += __shfl_xor_sync(0xffffffffu, value, offset);
  return value;
}

// The sum over the whole block, returned to every thread. `partials` holds one value per warp;
// the leading barrier lets the same array be reused by consecutive calls.
__device__ __forceinline__ float block_sum(float value, float* partials) {
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  value = warp_sum(value);
  __syncthreads();
  if (lane == 0)
    partials[warp] = value;
  __syncthreads();
  value = lane < BLOCK / 32 ? partials[lane] : 0.0f;
  return warp_sum(value);
}

extern "C" __global__ void __launch_bounds__(BLOCK)
    row_sum_forward(const float* __restrict__ x, float* __restrict__ out, long long cols) {
  __shared__ float partials[32];
  const float* in = x + (long long)blockIdx.x * cols;
  const bool vectorized = (VEC == 4 && cols % 4 == 0 && (((unsigned long long)in) & 15) == 0);
  float sum = 0.0f;
  if (vectorized) {
    const float4* in4 = reinterpret_cast<const float4*>(in);
    // Two independent accumulators keep two loads in flight per iteration.
    float other = 0.0f;
    long long i = threadIdx.x;
    for (; i + BLOCK < cols / 4; i += 2 * BLOCK) {
      const float4 a = __ldg(in4 + i);
      const float4 b = __ldg(in4 + i + BLOCK);
      sum += (a.x + a.y) + (a.z + a.w);
      other += (b.x + b.y) + (b.z + b.w);
    }
    if (i < cols / 4) {
      const float4 a = __ldg(in4 + i);
      sum += (a.x + a.y) + (a.z + a.w);
    }
    sum += other;
  } else {
    for (long long i = threadIdx.x; i < cols; i += BLOCK)
      sum += __ldg(in + i);
  }
  sum = block_sum(sum, partials);
  if (threadIdx.x == 0)
    out[blockIdx.x] = sum;
}
