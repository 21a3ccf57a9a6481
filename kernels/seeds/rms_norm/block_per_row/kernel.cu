// Seed kernel for the built-in task `rms_norm`: out = x * rsqrt(mean(x^2) + 1e-6) * weight over
// the last dimension (eps is the task's default, 1e-6). One block per row: pass 1 sums squares
// (float4 when aligned, scalar otherwise), a warp-shuffle block reduction gives the scale, pass 2
// re-reads the row (L1/L2 hits) and writes. Any row length; 64-bit row offsets.
// Hand-written seed; NOT yet verified on a GPU (compiled only).
/* kforge:launch
{
  "kernels": [
    {"name": "rms_norm_forward", "grid": ["x.numel / x.shape[1]"], "block": ["BLOCK"],
     "shared_bytes": "0", "args": ["x", "weight", "out", "x.shape[1]"]}
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
    rms_norm_forward(const float* __restrict__ x, const float* __restrict__ weight,
                     float* __restrict__ out, long long cols) {
  __shared__ float partials[32];
  const float* in = x + (long long)blockIdx.x * cols;
  float* result = out + (long long)blockIdx.x * cols;
  const bool vectorized =
      (VEC == 4 && cols % 4 == 0 &&
       (((unsigned long long)in | (unsigned long long)result | (unsigned long long)weight) & 15) ==
           0);
  float squares = 0.0f;
  if (vectorized) {
    const float4* in4 = reinterpret_cast<const float4*>(in);
    for (long long i = threadIdx.x; i < cols / 4; i += BLOCK) {
      const float4 v = __ldg(in4 + i);
      squares += (v.x * v.x + v.y * v.y) + (v.z * v.z + v.w * v.w);
    }
  } else {
    for (long long i = threadIdx.x; i < cols; i += BLOCK) {
      const float v = __ldg(in + i);
      squares += v * v;
    }
  }
  squares = block_sum(squares, partials);
  const float scale = rsqrtf(squares / (float)cols + 1e-6f);
  if (vectorized) {
    const float4* in4 = reinterpret_cast<const float4*>(in);
    const float4* weight4 = reinterpret_cast<const float4*>(weight);
    float4* result4 = reinterpret_cast<float4*>(result);
    for (long long i = threadIdx.x; i < cols / 4; i += BLOCK) {
      const float4 v = __ldg(in4 + i);
      const float4 w = __ldg(weight4 + i);
      result4[i] =
          make_float4(v.x * scale * w.x, v.y * scale * w.y, v.z * scale * w.z, v.w * scale * w.w);
    }
  } else {
    for (long long i = threadIdx.x; i < cols; i += BLOCK)
      result[i] = __ldg(in + i) * scale * __ldg(weight + i);
  }
}
