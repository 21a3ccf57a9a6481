// Seed kernel for the built-in task `fused_residual_layer_norm`: summed = x + bias + residual
// (written to out1), then LayerNorm(summed) (eps 1e-5) to out0, in one kernel: the sum is
// written once and read back by the same thread that wrote it (plain loads, not the read-only
// path, since this kernel wrote it). One block per row; float4 when aligned, scalar otherwise;
// two-pass statistics; warp-shuffle block reductions; 64-bit row offsets.
// Hand-written seed; NOT yet verified on a GPU (compiled only).
/* kforge:launch
{
  "kernels": [
    {"name": "residual_layer_norm_forward", "grid": ["x.numel / x.shape[1]"],
     "block": ["BLOCK"], "shared_bytes": "0",
     "args": ["x", "residual", "bias", "norm.weight", "norm.bias", "out0", "out1",
              "x.shape[1]"]}
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

#define LOAD(pointer) (*(pointer))

extern "C" __global__ void __launch_bounds__(BLOCK)
    residual_layer_norm_forward(const float* __restrict__ x, const float* __restrict__ residual,
                                const float* __restrict__ bias, const float* __restrict__ gamma,
                                const float* __restrict__ beta, float* __restrict__ out0,
                                float* __restrict__ out1, long long cols) {
  __shared__ float partials[32];
  const long long offset = (long long)blockIdx.x * cols;
  const float* in = x + offset;
  const float* skip = residual + offset;
  float* row = out1 + offset;  // the summed row: written here, then normalised
  float* result = out0 + offset;
  const bool vectorized =
      (VEC == 4 && cols % 4 == 0 &&
       (((unsigned long long)in | (unsigned long long)skip | (unsigned long long)bias |
         (unsigned long long)row | (unsigned long long)result | (unsigned long long)gamma |
         (unsigned long long)beta) &
        15) == 0);
  // Same association as the reference: (x + bias) + residual.
  if (vectorized) {
    const float4* in4 = reinterpret_cast<const float4*>(in);
    const float4* skip4 = reinterpret_cast<const float4*>(skip);
    const float4* bias4 = reinterpret_cast<const float4*>(bias);
    float4* row4 = reinterpret_cast<float4*>(row);
    for (long long i = threadIdx.x; i < cols / 4; i += BLOCK) {
      const float4 a = __ldg(in4 + i);
      const float4 b = __ldg(bias4 + i);
      const float4 r = __ldg(skip4 + i);
      row4[i] =
          make_float4((a.x + b.x) + r.x, (a.y + b.y) + r.y, (a.z + b.z) + r.z, (a.w + b.w) + r.w);
    }
  } else {
    for (long long i = threadIdx.x; i < cols; i += BLOCK)
      row[i] = (__ldg(in + i) + __ldg(bias + i)) + __ldg(skip + i);
  }

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
