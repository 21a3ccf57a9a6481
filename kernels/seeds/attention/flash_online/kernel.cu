// Seed kernel for the built-in task `attention`: out = softmax(q k^T / sqrt(d)) v per (batch,
// head), fp32, never materialising the seq x seq score matrix. One block of BQ threads owns BQ
// query rows of one head, one thread per row, its scaled query row and its output accumulator
// in registers. The keys and values stream through shared memory in tiles of BK rows; every
// thread reads the same key (a shared-memory broadcast), scores the whole tile, and applies
// the online softmax once per tile (one rescale of the accumulator per tile, exp2 with log2(e)
// folded into the query scale). Any sequence length (the last tile is masked); head_dim up to
// HEAD_DIM (a larger one traps; the task's is 64, and HEAD_DIM 128 fully unrolled takes NVRTC
// minutes, so it is not offered to a search). Known limits: plain FMA, no tensor cores; each query row is
// read once with a strided load.
// Hand-written seed; NOT yet verified on a GPU (compiled only).
/* kforge:launch
{
  "kernels": [
    {"name": "attention_forward", "grid": ["ceil_div(q.shape[2], BQ)", "q.shape[0] * q.shape[1]"],
     "block": ["BQ"], "shared_bytes": "0",
     "args": ["q", "k", "v", "out", "q.shape[2]", "q.shape[3]"]}
  ],
  "scratch": [],
  "defines": {
    "BQ": {"default": 64, "values": [32, 64, 128]},
    "BK": {"default": 32, "values": [16, 32]},
    "HEAD_DIM": {"default": 64, "values": [64]}
  },
  "constraints": [
    "BQ % 32 == 0 && BQ >= 64",
    "2 * BK * HEAD_DIM * 4 <= 49152"
  ]
}
*/
#ifndef BQ
#define BQ 64
#endif
#ifndef BK
#define BK 32
#endif
#ifndef HEAD_DIM
#define HEAD_DIM 64
#endif

#define NEGATIVE_INFINITY __int_as_float(0xff800000)

extern "C" __global__ void __launch_bounds__(BQ)
    attention_forward(const float* __restrict__ q, const float* __restrict__ k,
                      const float* __restrict__ v, float* __restrict__ out, int seq, int d) {
  __shared__ __align__(16) float k_tile[BK][HEAD_DIM];
  __shared__ __align__(16) float v_tile[BK][HEAD_DIM];
  if (d > HEAD_DIM)
    __trap();

  const size_t base = static_cast<size_t>(blockIdx.y) * seq * d;
  const int row = blockIdx.x * BQ + threadIdx.x;
  const bool active = row < seq;
  // 1/sqrt(d) and log2(e) together: the softmax then runs on exp2.
  const float scale = rsqrtf(static_cast<float>(d)) * 1.4426950408889634f;

  float query[HEAD_DIM];
  float acc[HEAD_DIM];
#pragma unroll
  for (int c = 0; c < HEAD_DIM; ++c) {
    query[c] = active && c < d ? q[base + static_cast<size_t>(row) * d + c] * scale : 0.0f;
    acc[c] = 0.0f;
  }
  float running_max = NEGATIVE_INFINITY;
  float running_sum = 0.0f;

  for (int key0 = 0; key0 < seq; key0 += BK) {
    // Coalesced tile loads; columns past d and rows past seq are zero.
    for (int i = threadIdx.x; i < BK * HEAD_DIM; i += BQ) {
      const int r = i / HEAD_DIM;
      const int c = i % HEAD_DIM;
      const bool inside = key0 + r < seq && c < d;
      const size_t at = base + static_cast<size_t>(key0 + r) * d + c;
      k_tile[r][c] = inside ? k[at] : 0.0f;
      v_tile[r][c] = inside ? v[at] : 0.0f;
    }
    __syncthreads();

    float score[BK];
    float tile_max = NEGATIVE_INFINITY;
#pragma unroll
    for (int j = 0; j < BK; ++j) {
      float dot = 0.0f;
#pragma unroll
      for (int c = 0; c < HEAD_DIM; ++c)
        dot = fmaf(query[c], k_tile[j][c], dot);
      score[j] = key0 + j < seq ? dot : NEGATIVE_INFINITY;
      tile_max = fmaxf(tile_max, score[j]);
    }
    // Every tile holds at least one real key, so new_max is finite.
    const float new_max = fmaxf(running_max, tile_max);
    const float correction = exp2f(running_max - new_max);
    running_sum *= correction;
#pragma unroll
    for (int c = 0; c < HEAD_DIM; ++c)
      acc[c] *= correction;
#pragma unroll
    for (int j = 0; j < BK; ++j) {
      const float p = exp2f(score[j] - new_max);
      running_sum += p;
#pragma unroll
      for (int c = 0; c < HEAD_DIM; ++c)
        acc[c] = fmaf(p, v_tile[j][c], acc[c]);
    }
    running_max = new_max;
    __syncthreads();
  }

  if (!active)
    return;
  const float inverse = 1.0f / running_sum;
#pragma unroll
  for (int c = 0; c < HEAD_DIM; ++c)
    if (c < d)
      out[base + static_cast<size_t>(row) * d + c] = acc[c] * inverse;
}
