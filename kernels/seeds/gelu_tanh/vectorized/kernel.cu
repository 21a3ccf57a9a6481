// Seed kernel for the built-in task `gelu_tanh`:
// out = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), the whole chain fused into one pass.
// Memory-bound: each thread moves VEC floats per access (float2/float4 when both pointers are
// aligned for it, scalar otherwise) and keeps ITEMS accesses in flight before storing, over a
// grid-stride loop with 64-bit indices; elements past the last full vector are a scalar tail.
// Hand-written seed; NOT yet verified on a GPU (compiled only).
/* kforge:launch
{
  "kernels": [
    {"name": "gelu_tanh_forward",
     "grid": ["max(1, min(ceil_div(x.numel, BLOCK * VEC * ITEMS), 1048576))"],
     "block": ["BLOCK"], "shared_bytes": "0",
     "args": ["x", "out", "x.numel"]}
  ],
  "scratch": [],
  "defines": {
    "BLOCK": {"default": 256, "values": [128, 256, 512, 1024]},
    "VEC": {"default": 4, "values": [1, 2, 4]},
    "ITEMS": {"default": 2, "values": [1, 2, 4, 8]}
  },
  "constraints": [
    "BLOCK % 32 == 0 && BLOCK <= 1024",
    "VEC * ITEMS <= 16"
  ]
}
*/
#ifndef BLOCK
#define BLOCK 256
#endif
#ifndef VEC
#define VEC 4
#endif
#ifndef ITEMS
#define ITEMS 2
#endif

static_assert(VEC == 1 || VEC == 2 || VEC == 4, "VEC must be 1, 2 or 4");

template <int N>
struct VectorOf;
template <>
struct VectorOf<1> {
  typedef float type;
};
template <>
struct VectorOf<2> {
  typedef float2 type;
};
template <>
struct VectorOf<4> {
  typedef float4 type;
};
typedef VectorOf<VEC>::type Vector;

// Same operation order as the reference; tanhf (not a fast approximation) keeps it within the
// fp32 tolerance.
__device__ __forceinline__ float apply(float v) {
  const float inner = 0.7978845608028654f * (v + 0.044715f * v * v * v);
  return 0.5f * v * (1.0f + tanhf(inner));
}

extern "C" __global__ void __launch_bounds__(BLOCK)
    gelu_tanh_forward(const float* __restrict__ x, float* __restrict__ out, long long n) {
  const long long stride = (long long)gridDim.x * BLOCK;
  const long long first = (long long)blockIdx.x * BLOCK + threadIdx.x;
  const unsigned long long misaligned =
      ((unsigned long long)x | (unsigned long long)out) & (sizeof(Vector) - 1);
  const long long vectors = misaligned ? 0 : n / VEC;

  const Vector* x_vectors = reinterpret_cast<const Vector*>(x);
  Vector* out_vectors = reinterpret_cast<Vector*>(out);
  for (long long base = first; base < vectors; base += stride * ITEMS) {
    Vector values[ITEMS];
#pragma unroll
    for (int item = 0; item < ITEMS; ++item) {
      const long long index = base + item * stride;
      if (index < vectors)
        values[item] = __ldg(x_vectors + index);
    }
#pragma unroll
    for (int item = 0; item < ITEMS; ++item) {
      const long long index = base + item * stride;
      if (index < vectors) {
        float* lanes = reinterpret_cast<float*>(&values[item]);
#pragma unroll
        for (int lane = 0; lane < VEC; ++lane)
          lanes[lane] = apply(lanes[lane]);
        out_vectors[index] = values[item];
      }
    }
  }
  // The scalar tail (and everything, when the pointers are not aligned for a vector).
  for (long long index = vectors * VEC + first; index < n; index += stride)
    out[index] = apply(__ldg(x + index));
}
