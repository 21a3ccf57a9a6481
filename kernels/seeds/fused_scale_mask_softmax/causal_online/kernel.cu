// Seed kernel for the built-in task `fused_scale_mask_softmax`: softmax(scale * scores with the
// causal mask) over the last dimension, scores [batch, heads, seq, seq]. One block per row;
// row i of each matrix only reads its first i + 1 scores (the masked half of the input is never
// loaded) and writes exact zeros for the rest. Online (max, sum) per thread merged with warp
// shuffles. The scale is the task's fixed 0.125 (its get_init_inputs), compiled in as SCALE.
// float4 when aligned, scalar otherwise; any sequence length; 64-bit row offsets.
// Hand-written seed; NOT yet verified on a GPU (compiled only).
/* kforge:launch
{
  "kernels": [
    {"name": "scale_mask_softmax_forward", "grid": ["scores.numel / scores.shape[3]"],
     "block": ["BLOCK"], "shared_bytes": "0",
     "args": ["scores", "out", "scores.shape[2]", "scores.shape[3]"]}
  ],
  "scratch": [],
  "defines": {
    "BLOCK": {"default": 256, "values": [128, 256, 512, 1024]},
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
#define BLOCK 256
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

#define SCALE 0.125f

extern "C" __global__ void __launch_bounds__(BLOCK)
    scale_mask_softmax_forward(const float* __restrict__ scores, float* __restrict__ out,
                               long long rows_per_matrix, long long cols) {
  const float* in = scores + (long long)blockIdx.x * cols;
  float* result = out + (long long)blockIdx.x * cols;
  // Causal: query i sees keys 0..i.
  const long long visible = min((long long)blockIdx.x % rows_per_matrix + 1, cols);
  const bool vectorized = (VEC == 4 && cols % 4 == 0 &&
                           (((unsigned long long)in | (unsigned long long)result) & 15) == 0);

  MaxSum state;
  state.max = -POSITIVE_INFINITY;
  state.sum = 0.0f;
  if (vectorized) {
    const float4* in4 = reinterpret_cast<const float4*>(in);
    for (long long i = threadIdx.x; i < (visible + 3) / 4; i += BLOCK) {
      const float4 v = __ldg(in4 + i);
      const long long first = 4 * i;
      add_value(state, v.x * SCALE);
      if (first + 1 < visible)
        add_value(state, v.y * SCALE);
      if (first + 2 < visible)
        add_value(state, v.z * SCALE);
      if (first + 3 < visible)
        add_value(state, v.w * SCALE);
    }
  } else {
    for (long long i = threadIdx.x; i < visible; i += BLOCK)
      add_value(state, __ldg(in + i) * SCALE);
  }
  const MaxSum row = block_merge(state);
  const float inverse = 1.0f / row.sum;
  if (vectorized) {
    const float4* in4 = reinterpret_cast<const float4*>(in);
    float4* result4 = reinterpret_cast<float4*>(result);
    for (long long i = threadIdx.x; i < cols / 4; i += BLOCK) {
      const long long first = 4 * i;
      float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
      if (first < visible) {
        const float4 s = __ldg(in4 + i);
        v.x = expf(s.x * SCALE - row.max) * inverse;
        if (first + 1 < visible)
          v.y = expf(s.y * SCALE - row.max) * inverse;
        if (first + 2 < visible)
          v.z = expf(s.z * SCALE - row.max) * inverse;
        if (first + 3 < visible)
          v.w = expf(s.w * SCALE - row.max) * inverse;
      }
      result4[i] = v;
    }
  } else {
    for (long long i = threadIdx.x; i < cols; i += BLOCK)
      result[i] = i < visible ? expf(__ldg(in + i) * SCALE - row.max) * inverse : 0.0f;
  }
}
