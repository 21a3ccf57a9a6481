// Seed kernel for the built-in task `layer_norm`: nn.LayerNorm(hidden) (eps 1e-5, learned scale
// and shift) over the last dimension. One block per row, three passes over the row: the first
// from DRAM, the other two mostly from L1/L2 (a row is a few KiB); float4 when aligned, scalar
// otherwise; warp-shuffle block reductions. Any row length; 64-bit row offsets.
// Hand-written seed; NOT yet verified on a GPU (compiled only).
/* kforge:launch
{
  "kernels": [
    {"name": "layer_norm_forward", "grid": ["x.numel / x.shape[1]"], "block": ["BLOCK"],
     "shared_bytes": "0", "args": ["x", "norm.weight", "norm.bias", "out", "x.shape[1]"]}
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

#define LOAD(pointer) __ldg(pointer)

extern "C" __global__ void __launch_bounds__(BLOCK)
    layer_norm_forward(const float* __restrict__ x, const float* __restrict__ gamma,
                       const float* __restrict__ beta, float* __restrict__ out, long long cols) {
  __shared__ float partials[32];
  const float* row = x + (long long)blockIdx.x * cols;
  float* result = out + (long long)blockIdx.x * cols;
  const bool vectorized = (VEC == 4 && cols % 4 == 0 &&
                           (((unsigned long long)row | (unsigned long long)result |
                             (unsigned long long)gamma | (unsigned long long)beta) &
                            15) == 0);

  // Two-pass statistics (mean, then the mean of squared deviations) rather than E[x^2]-E[x]^2:
  // the rows have a large mean relative to their spread, where the one-pass form cancels.
  float sum = 0.0f;
  if (vectorized) {
    const float4* row4 = reinterpret_cast<const float4*>(row);
    for (long long i = threadIdx.x; i < cols / 4; i += BLOCK) {
      const float4 v = LOAD(row4 + i);
      sum += (v.x + v.y) + (v.z + v.w);
    }
  } else {
    for (long long i = threadIdx.x; i < cols; i += BLOCK)
      sum += LOAD(row + i);
  }
  const float mean = block_sum(sum, partials) / (float)cols;
  float deviations = 0.0f;
  if (vectorized) {
    const float4* row4 = reinterpret_cast<const float4*>(row);
    for (long long i = threadIdx.x; i < cols / 4; i += BLOCK) {
      const float4 v = LOAD(row4 + i);
      const float a = v.x - mean, b = v.y - mean, c = v.z - mean, d = v.w - mean;
      deviations += (a * a + b * b) + (c * c + d * d);
    }
  } else {
    for (long long i = threadIdx.x; i < cols; i += BLOCK) {
      const float a = LOAD(row + i) - mean;
      deviations += a * a;
    }
  }
  const float inverse_std = rsqrtf(block_sum(deviations, partials) / (float)cols + 1e-5f);
  if (vectorized) {
    const float4* row4 = reinterpret_cast<const float4*>(row);
    const float4* gamma4 = reinterpret_cast<const float4*>(gamma);
    const float4* beta4 = reinterpret_cast<const float4*>(beta);
    float4* result4 = reinterpret_cast<float4*>(result);
    for (long long i = threadIdx.x; i < cols / 4; i += BLOCK) {
      const float4 v = LOAD(row4 + i);
      const float4 g = __ldg(gamma4 + i);
      const float4 b = __ldg(beta4 + i);
      result4[i] = make_float4(
          (v.x - mean) * inverse_std * g.x + b.x, (v.y - mean) * inverse_std * g.y + b.y,
          (v.z - mean) * inverse_std * g.z + b.z, (v.w - mean) * inverse_std * g.w + b.w);
    }
  } else {
    for (long long i = threadIdx.x; i < cols; i += BLOCK)
      result[i] = (LOAD(row + i) - mean) * inverse_std * __ldg(gamma + i) + __ldg(beta + i);
  }
}
