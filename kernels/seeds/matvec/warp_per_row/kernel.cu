// Seed kernel for the built-in task `matvec`: out[m, 1] = a[m, k] @ v[k, 1]. Memory-bound on
// `a`: one warp per row streams it with float4 loads when the row is 16-byte aligned (scalar
// otherwise, so any k works), two loads in flight per lane; `v` is small and stays in L1/L2.
// Lanes combine with warp shuffles; no shared memory, no atomics. 64-bit row offsets.
// Hand-written seed; NOT yet verified on a GPU (compiled only).
/* kforge:launch
{
  "kernels": [
    {"name": "matvec_forward", "grid": ["ceil_div(a.shape[0], WARPS)"], "block": ["32 * WARPS"],
     "shared_bytes": "0", "args": ["a", "v", "out", "a.shape[0]", "a.shape[1]"]}
  ],
  "scratch": [],
  "defines": {
    "WARPS": {"default": 4, "values": [1, 2, 4, 8, 16]},
    "VEC": {"default": 4, "values": [1, 4]}
  },
  "constraints": [
    "WARPS >= 2 && WARPS <= 32"
  ]
}
*/
#ifndef WARPS
#define WARPS 4
#endif
#ifndef VEC
#define VEC 4
#endif

static_assert(WARPS >= 1 && WARPS <= 32, "WARPS must be 1 to 32");
static_assert(VEC == 1 || VEC == 4, "VEC must be 1 or 4");

extern "C" __global__ void __launch_bounds__(32 * WARPS)
    matvec_forward(const float* __restrict__ a, const float* __restrict__ v,
                   float* __restrict__ out, long long rows, long long cols) {
  const long long row = (long long)blockIdx.x * WARPS + (threadIdx.x >> 5);
  const int lane = threadIdx.x & 31;
  if (row >= rows)
    return;  // whole warps leave together: the shuffles below stay full-warp
  const float* in = a + row * cols;
  const bool vectorized =
      VEC == 4 && cols % 4 == 0 && (((unsigned long long)in | (unsigned long long)v) & 15) == 0;
  float sum = 0.0f, other = 0.0f;
  if (vectorized) {
    const float4* in4 = reinterpret_cast<const float4*>(in);
    const float4* v4 = reinterpret_cast<const float4*>(v);
    const long long vectors = cols / 4;
    long long i = lane;
    for (; i + 32 < vectors; i += 64) {
      const float4 p = __ldg(in4 + i), q = __ldg(v4 + i);
      const float4 r = __ldg(in4 + i + 32), s = __ldg(v4 + i + 32);
      sum += p.x * q.x + p.y * q.y + p.z * q.z + p.w * q.w;
      other += r.x * s.x + r.y * s.y + r.z * s.z + r.w * s.w;
    }
    if (i < vectors) {
      const float4 p = __ldg(in4 + i), q = __ldg(v4 + i);
      sum += p.x * q.x + p.y * q.y + p.z * q.z + p.w * q.w;
    }
  } else {
    for (long long i = lane; i < cols; i += 32)
      sum += __ldg(in + i) * __ldg(v + i);
  }
  sum += other;
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1)
    sum += __shfl_xor_sync(0xffffffffu, sum, offset);
  if (lane == 0)
    out[row] = sum;
}
