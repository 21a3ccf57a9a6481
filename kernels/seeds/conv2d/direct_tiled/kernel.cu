// Seed kernel for the built-in task `conv2d`: out = conv2d(x, conv.weight, padding=k/2) +
// conv.bias, NCHW, fp32, square odd kernels (3x3 in the task). A direct convolution: each block
// computes a TILE_H x TILE_W patch of OC_PER_THREAD output channels of one image; each thread
// owns ROWS_PER_THREAD vertically adjacent pixels of the patch for all of those channels, so
// every input value read from shared memory feeds OC_PER_THREAD FMAs and every weight (a
// shared-memory broadcast) feeds ROWS_PER_THREAD. The input channels are walked IC_CHUNK at a
// time: the zero-padded input halo tile and the matching weights are staged in dynamic shared
// memory. Any batch, channel counts and image size (edges and channel tails are masked).
// Known limits: plain FMA (no implicit-GEMM on tensor cores), no double buffering.
// Hand-written seed; NOT yet verified on a GPU (compiled only).
/* kforge:launch
{
  "kernels": [
    {"name": "conv2d_direct",
     "grid": ["ceil_div(x.shape[3], TILE_W) * ceil_div(x.shape[2], TILE_H)",
              "ceil_div(conv.weight.shape[0], OC_PER_THREAD)", "x.shape[0]"],
     "block": ["TILE_W", "TILE_H / ROWS_PER_THREAD"],
     "shared_bytes": "4 * (IC_CHUNK * (TILE_H + conv.weight.shape[2] - 1) * (TILE_W + conv.weight.shape[2] - 1) + OC_PER_THREAD * IC_CHUNK * conv.weight.shape[2] * conv.weight.shape[2])",
     "args": ["x", "conv.weight", "conv.bias", "out", "x.shape[1]", "x.shape[2]", "x.shape[3]",
              "conv.weight.shape[0]", "conv.weight.shape[2]"]}
  ],
  "scratch": [],
  "defines": {
    "TILE_W": {"default": 32, "values": [16, 32]},
    "TILE_H": {"default": 8, "values": [4, 8, 16]},
    "ROWS_PER_THREAD": {"default": 2, "values": [1, 2, 4]},
    "OC_PER_THREAD": {"default": 8, "values": [4, 8, 16]},
    "IC_CHUNK": {"default": 8, "values": [4, 8, 16]}
  },
  "constraints": [
    "TILE_H % ROWS_PER_THREAD == 0",
    "TILE_W * (TILE_H / ROWS_PER_THREAD) % 32 == 0",
    "4 * (IC_CHUNK * (TILE_H + conv.weight.shape[2] - 1) * (TILE_W + conv.weight.shape[2] - 1) + OC_PER_THREAD * IC_CHUNK * conv.weight.shape[2] * conv.weight.shape[2]) <= 49152"
  ]
}
*/
#ifndef TILE_W
#define TILE_W 32
#endif
#ifndef TILE_H
#define TILE_H 8
#endif
#ifndef ROWS_PER_THREAD
#define ROWS_PER_THREAD 2
#endif
#ifndef OC_PER_THREAD
#define OC_PER_THREAD 8
#endif
#ifndef IC_CHUNK
#define IC_CHUNK 8
#endif

static_assert(TILE_H % ROWS_PER_THREAD == 0, "ROWS_PER_THREAD must divide TILE_H");
#define THREADS (TILE_W * (TILE_H / ROWS_PER_THREAD))

extern "C" __global__ void __launch_bounds__(THREADS)
    conv2d_direct(const float* __restrict__ x, const float* __restrict__ weight,
                  const float* __restrict__ bias, float* __restrict__ out, int in_channels,
                  int height, int width, int out_channels, int ksize) {
  extern __shared__ __align__(16) float shared[];
  const int pad = ksize / 2;
  const int taps = ksize * ksize;
  const int halo_h = TILE_H + ksize - 1;
  const int halo_w = TILE_W + ksize - 1;
  float* input_tile = shared;                               // [IC_CHUNK][halo_h][halo_w]
  float* weight_tile = shared + IC_CHUNK * halo_h * halo_w;  // [OC_PER_THREAD][IC_CHUNK][taps]

  const int tiles_w = (width + TILE_W - 1) / TILE_W;
  const int y0 = (blockIdx.x / tiles_w) * TILE_H;
  const int x0 = (blockIdx.x % tiles_w) * TILE_W;
  const int oc0 = blockIdx.y * OC_PER_THREAD;
  const int image = blockIdx.z;
  const int tid = threadIdx.y * TILE_W + threadIdx.x;
  const int row0 = threadIdx.y * ROWS_PER_THREAD;  // within the tile
  const size_t plane = static_cast<size_t>(height) * width;

  float acc[ROWS_PER_THREAD][OC_PER_THREAD];
#pragma unroll
  for (int r = 0; r < ROWS_PER_THREAD; ++r)
#pragma unroll
    for (int o = 0; o < OC_PER_THREAD; ++o)
      acc[r][o] = 0.0f;

  for (int ic0 = 0; ic0 < in_channels; ic0 += IC_CHUNK) {
    const int halo = halo_h * halo_w;
    for (int i = tid; i < IC_CHUNK * halo; i += THREADS) {
      const int c = i / halo;
      const int yy = (i % halo) / halo_w;
      const int xx = (i % halo) % halo_w;
      const int gy = y0 + yy - pad;
      const int gx = x0 + xx - pad;
      const bool inside =
          ic0 + c < in_channels && gy >= 0 && gy < height && gx >= 0 && gx < width;
      input_tile[i] =
          inside ? x[(static_cast<size_t>(image) * in_channels + ic0 + c) * plane +
                     static_cast<size_t>(gy) * width + gx]
                 : 0.0f;
    }
    for (int i = tid; i < OC_PER_THREAD * IC_CHUNK * taps; i += THREADS) {
      const int o = i / (IC_CHUNK * taps);
      const int c = (i / taps) % IC_CHUNK;
      const int tap = i % taps;
      const bool inside = oc0 + o < out_channels && ic0 + c < in_channels;
      weight_tile[i] =
          inside ? weight[(static_cast<size_t>(oc0 + o) * in_channels + ic0 + c) * taps + tap]
                 : 0.0f;
    }
    __syncthreads();

    for (int c = 0; c < IC_CHUNK; ++c) {
      for (int kh = 0; kh < ksize; ++kh) {
        for (int kw = 0; kw < ksize; ++kw) {
          float in[ROWS_PER_THREAD];
#pragma unroll
          for (int r = 0; r < ROWS_PER_THREAD; ++r)
            in[r] = input_tile[(c * halo_h + row0 + r + kh) * halo_w + threadIdx.x + kw];
#pragma unroll
          for (int o = 0; o < OC_PER_THREAD; ++o) {
            const float w = weight_tile[(o * IC_CHUNK + c) * taps + kh * ksize + kw];
#pragma unroll
            for (int r = 0; r < ROWS_PER_THREAD; ++r)
              acc[r][o] = fmaf(in[r], w, acc[r][o]);
          }
        }
      }
    }
    __syncthreads();
  }

  const int gx = x0 + threadIdx.x;
#pragma unroll
  for (int o = 0; o < OC_PER_THREAD; ++o) {
    const int oc = oc0 + o;
    if (oc >= out_channels || gx >= width)
      continue;
    const float b = bias[oc];
#pragma unroll
    for (int r = 0; r < ROWS_PER_THREAD; ++r) {
      const int gy = y0 + row0 + r;
      if (gy < height)
        out[(static_cast<size_t>(image) * out_channels + oc) * plane +
            static_cast<size_t>(gy) * width + gx] = acc[r][o] + b;
    }
  }
}
