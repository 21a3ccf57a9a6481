// Seed kernel for the built-in task `fused_linear_gelu`: out = gelu(x @ W^T + b) with the exact
// (erf) GELU applied in the epilogue, so the pre-activation never goes to memory.
// Shared-memory tiled SGEMM with register blocking: each block computes a BM x BN tile of the
// output, stepping through k in BK slices staged in shared memory (the A slice transposed, both
// padded against bank conflicts); each thread accumulates a TM x TN micro-tile in registers
// from TM + TN shared loads per k step (rows and columns strided by BM / TM and BN / TN so a
// warp's shared reads are conflict-free and its output stores coalesced). Plain fp32 FMA, no
// tensor cores (TF32 would miss the fp32 tolerance). Edge tiles load zeros and guard their
// stores, so any M, N, K works; offsets are 64-bit.
// Hand-written seed; NOT yet verified on a GPU (compiled only).
/* kforge:launch
{
  "kernels": [
    {"name": "linear_gelu_forward",
     "grid": ["ceil_div(linear.weight.shape[0], BN)",
              "ceil_div(x.shape[0], BM)"],
     "block": ["(BM / TM) * (BN / TN)"], "shared_bytes": "0",
     "args": ["x", "linear.weight", "linear.bias", "out", "x.shape[0]",
              "linear.weight.shape[0]", "x.shape[1]"]}
  ],
  "scratch": [],
  "defines": {
    "BM": {"default": 128, "values": [32, 64, 128]},
    "BN": {"default": 128, "values": [32, 64, 128]},
    "BK": {"default": 8, "values": [8, 16, 32]},
    "TM": {"default": 8, "values": [2, 4, 8]},
    "TN": {"default": 8, "values": [2, 4, 8]}
  },
  "constraints": [
    "BM % TM == 0 && BN % TN == 0",
    "(BM / TM) * (BN / TN) >= 32 && (BM / TM) * (BN / TN) <= 1024",
    "(BM / TM) * (BN / TN) % 32 == 0"
  ]
}
*/
#ifndef BM
#define BM 128
#endif
#ifndef BN
#define BN 128
#endif
#ifndef BK
#define BK 8
#endif
#ifndef TM
#define TM 8
#endif
#ifndef TN
#define TN 8
#endif
// Threads per block: one per TM x TN micro-tile of the BM x BN block tile.
#define THREADS ((BM / TM) * (BN / TN))
// Padding that spreads the transposed tile stores over all banks and keeps rows 16-byte aligned.
#define PAD 4

static_assert(BM % TM == 0 && BN % TN == 0, "TM must divide BM and TN must divide BN");
static_assert(THREADS >= 32 && THREADS <= 1024, "(BM / TM) * (BN / TN) must be 32 to 1024");

// Exact GELU, as F.gelu: 0.5 v (1 + erf(v / sqrt(2))).
__device__ __forceinline__ float gelu(float v) {
  return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
}

extern "C" __global__ void __launch_bounds__(THREADS)
    linear_gelu_forward(const float* __restrict__ a, const float* __restrict__ w,
                        const float* __restrict__ bias, float* __restrict__ out, long long m,
                        long long n, long long k) {
  __shared__ __align__(16) float a_tile[BK][BM + PAD];
  __shared__ __align__(16) float w_tile[BK][BN + PAD];
  const int tx = threadIdx.x % (BN / TN);
  const int ty = threadIdx.x / (BN / TN);
  const long long row0 = (long long)blockIdx.y * BM;
  const long long col0 = (long long)blockIdx.x * BN;

  float acc[TM][TN];
#pragma unroll
  for (int i = 0; i < TM; ++i)
#pragma unroll
    for (int j = 0; j < TN; ++j) {
      acc[i][j] = 0.0f;
    }

  for (long long k0 = 0; k0 < k; k0 += BK) {
    for (int e = threadIdx.x; e < BM * BK; e += THREADS) {
      const int r = e / BK, c = e % BK;  // consecutive threads: consecutive k of one row
      const long long gr = row0 + r, gc = k0 + c;
      a_tile[c][r] = (gr < m && gc < k) ? __ldg(a + gr * k + gc) : 0.0f;
    }
    for (int e = threadIdx.x; e < BK * BN; e += THREADS) {
      const int c = e / BK, r = e % BK;  // consecutive threads: consecutive k of one weight row
      const long long gr = k0 + r, gc = col0 + c;
      w_tile[r][c] = (gr < k && gc < n) ? __ldg(w + gc * k + gr) : 0.0f;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < BK; ++kk) {
      float a_fragment[TM];
      float w_fragment[TN];
#pragma unroll
      for (int i = 0; i < TM; ++i)
        a_fragment[i] = a_tile[kk][ty + i * (BM / TM)];
#pragma unroll
      for (int j = 0; j < TN; ++j) {
        w_fragment[j] = w_tile[kk][tx + j * (BN / TN)];
      }
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) {
          acc[i][j] = fmaf(a_fragment[i], w_fragment[j], acc[i][j]);
        }
    }
    __syncthreads();
  }

#pragma unroll
  for (int i = 0; i < TM; ++i) {
    const long long row = row0 + ty + i * (BM / TM);
    if (row >= m)
      continue;
#pragma unroll
    for (int j = 0; j < TN; ++j) {
      const long long col = col0 + tx + j * (BN / TN);
      if (col < n)
        out[row * n + col] = gelu(acc[i][j] + __ldg(bias + col));
    }
  }
}
