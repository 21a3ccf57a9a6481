// Seed kernel for the built-in task `softmax`: softmax over the last dimension.
// One block per row. Pass 1 reads the row once and keeps an online (running max, rescaled sum)
// state per thread, merged across the block with warp shuffles; pass 2 re-reads the row (from
// L1/L2) and writes the result. float4 loads when the row is 16-byte aligned, scalar otherwise;
// any row length works (the check shapes include odd ones). 64-bit row offsets.
// Hand-written seed; NOT yet verified on a GPU (compiled only).
/* kforge:launch
{
  "kernels": [
    {"name": "softmax_forward", "grid": ["x.numel / x.shape[1]"], "block": ["BLOCK"],
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
// NVRTC provides no <math.h>, so no INFINITY macro: +inf from its bit pattern.
#define POSITIVE_INFINITY __int_as_float(0x7f800000)
#ifndef BLOCK
#define BLOCK 512
#endif
#ifndef VEC
#define VEC 4
#endif

static_assert(BLOCK % 32 == 0 && BLOCK <= 1024, "BLOCK must be a multiple of 32, at most 1024");
static_assert(VEC == 1 || VEC == 4, "VEC must be 1 or 4");

// Running (maximum, sum of exp(x - maximum)) of a set of values: the online softmax state.
struct MaxSum {
  float max;
  float sum;
};

__device__ __forceinline__ void add_value(MaxSum& state, float value) {
  if (value > state.max) {
    state.sum = state.sum * expf(state.max - value) + 1.0f;
    state.max = value;
  } else if (value != -POSITIVE_INFINITY) {  // -inf adds nothing; NaN propagates through the sum
    state.sum += expf(value - state.max);
  }
}

__device__ __forceinline__ MaxSum merge(MaxSum a, MaxSum b) {
  const float max = fmaxf(a.max, b.max);
  if (max == -POSITIVE_INFINITY)
    return a;  // both empty: avoid exp(-inf - -inf)
  MaxSum merged;
  merged.max = max;
  merged.sum = a.sum * expf(a.max - max) + b.sum * expf(b.max - max);
  return merged;
}

__device__ __forceinline__ MaxSum warp_merge(MaxSum state) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) {
    MaxSum other;
    other.max = __shfl_xor_sync(0xffffffffu, state.max, offset);
    other.sum = __shfl_xor_sync(0xffffffffu, state.sum, offset);
    state = merge(state, other);
  }
  return state;
}

// The state of the whole row, returned to every thread of the block.
__device__ __forceinline__ MaxSum block_merge(MaxSum state) {
  __shared__ float partial_max[32];
  __shared__ float partial_sum[32];
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  state = warp_merge(state);
  if (lane == 0) {
    partial_max[warp] = state.max;
    partial_sum[warp] = state.sum;
  }
  __syncthreads();
  MaxSum mine;
  mine.max = lane < BLOCK / 32 ? partial_max[lane] : -POSITIVE_INFINITY;
  mine.sum = lane < BLOCK / 32 ? partial_sum[lane] : 0.0f;
  return warp_merge(mine);
}

extern "C" __global__ void __launch_bounds__(BLOCK)
    softmax_forward(const float* __restrict__ x, float* __restrict__ out, long long cols) {
  const float* in = x + (long long)blockIdx.x * cols;
  float* result = out + (long long)blockIdx.x * cols;
  const bool vectorized = (VEC == 4 && cols % 4 == 0 &&
                           (((unsigned long long)in | (unsigned long long)result) & 15) == 0);

  MaxSum state;
  state.max = -POSITIVE_INFINITY;
  state.sum = 0.0f;
  if (vectorized) {
    const float4* in4 = reinterpret_cast<const float4*>(in);
    for (long long i = threadIdx.x; i < cols / 4; i += BLOCK) {
      const float4 v = __ldg(in4 + i);
      add_value(state, v.x);
      add_value(state, v.y);
      add_value(state, v.z);
      add_value(state, v.w);
    }
  } else {
    for (long long i = threadIdx.x; i < cols; i += BLOCK)
      add_value(state, __ldg(in + i));
  }
  const MaxSum row = block_merge(state);
  const float inverse = 1.0f / row.sum;
  if (vectorized) {
    const float4* in4 = reinterpret_cast<const float4*>(in);
    float4* result4 = reinterpret_cast<float4*>(result);
    for (long long i = threadIdx.x; i < cols / 4; i += BLOCK) {
      float4 v = __ldg(in4 + i);
      v.x = expf(v.x - row.max) * inverse;
      v.y = expf(v.y - row.max) * inverse;
      v.z = expf(v.z - row.max) * inverse;
      v.w = expf(v.w - row.max) * inverse;
      result4[i] = v;
    }
  } else {
    for (long long i = threadIdx.x; i < cols; i += BLOCK) {
      const float v = __ldg(in + i);
      result[i] = expf(v - row.max) * inverse;
    }
  }
}
