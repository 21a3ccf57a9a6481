// Seed kernel for the built-in task `fused_conv_relu_pool`: out = maxpool2x2(relu(conv2d(x,
// conv.weight, padding=1) + conv.bias)), NCHW, fp32, in one pass: the convolution output never
// reaches memory. Each block computes a POOL_H x POOL_W patch of pooled outputs for
// OC_PER_THREAD output channels of one image; each thread owns one pooled pixel, that is the
// 2x2 convolution outputs under it, for all of those channels (4 x OC_PER_THREAD accumulators),
// then takes the max, adds the bias and applies ReLU (ReLU and the bias commute with the max).
// Input channels are walked IC_CHUNK at a time through dynamic shared memory (the zero-padded
// halo of 2*POOL_H+k-1 x 2*POOL_W+k-1 inputs and the matching weights). Odd image sizes floor
// like nn.MaxPool2d(2). Known limits: plain FMA; the stride-2 reads of the halo tile cost a
// 2-way shared-memory bank conflict.
// Hand-written seed; NOT yet verified on a GPU (compiled only).
/* kforge:launch
{
  "kernels": [
    {"name": "conv_relu_pool",
     "grid": ["ceil_div(out.shape[3], POOL_W) * ceil_div(out.shape[2], POOL_H)",
              "ceil_div(conv.weight.shape[0], OC_PER_THREAD)", "x.shape[0]"],
     "block": ["POOL_W", "POOL_H"],
     "shared_bytes": "4 * (IC_CHUNK * (2 * POOL_H + conv.weight.shape[2] - 1) * (2 * POOL_W + conv.weight.shape[2] - 1) + OC_PER_THREAD * IC_CHUNK * conv.weight.shape[2] * conv.weight.shape[2])",
     "args": ["x", "conv.weight", "conv.bias", "out", "x.shape[1]", "x.shape[2]", "x.shape[3]",
              "conv.weight.shape[0]", "conv.weight.shape[2]"]}
  ],
  "scratch": [],
  "defines": {
    "POOL_W": {"default": 16, "values": [8, 16, 32]},
    "POOL_H": {"default": 8, "values": [4, 8, 16]},
    "OC_PER_THREAD": {"default": 8, "values": [4, 8, 16]},
    "IC_CHUNK": {"default": 8, "values": [4, 8, 16]}
  },
  "constraints": [
    "POOL_W * POOL_H % 32 == 0 && POOL_W * POOL_H <= 1024",
    "4 * (IC_CHUNK * (2 * POOL_H + conv.weight.shape[2] - 1) * (2 * POOL_W + conv.weight.shape[2] - 1) + OC_PER_THREAD * IC_CHUNK * conv.weight.shape[2] * conv.weight.shape[2]) <= 49152"
  ]
}
*/
#ifndef POOL_W
#define POOL_W 16
#endif
#ifndef POOL_H
#define POOL_H 8
#endif
#ifndef OC_PER_THREAD
#define OC_PER_THREAD 8
#endif
#ifndef IC_CHUNK
#define IC_CHUNK 8
#endif

#define THREADS (POOL_W * POOL_H)

extern "C" __global__ void __launch_bounds__(THREADS)
    conv_relu_pool(const float* __restrict__ x, const float* __restrict__ weight,
                   const float* __restrict__ bias, float* __restrict__ out, int in_channels,
                   int height, int width, int out_channels, int ksize) {
  extern __shared__ __align__(16) float shared[];
  const int pad = ksize / 2;
  const int taps = ksize * ksize;
  const int halo_h = 2 * POOL_H + ksize - 1;
  const int halo_w = 2 * POOL_W + ksize - 1;
  float* input_tile = shared;                               // [IC_CHUNK][halo_h][halo_w]
  float* weight_tile = shared + IC_CHUNK * halo_h * halo_w;  // [OC_PER_THREAD][IC_CHUNK][taps]

  const int pooled_h = height / 2;
  const int pooled_w = width / 2;
  const int tiles_w = (pooled_w + POOL_W - 1) / POOL_W;
  const int py0 = (blockIdx.x / tiles_w) * POOL_H;
  const int px0 = (blockIdx.x % tiles_w) * POOL_W;
  const int oc0 = blockIdx.y * OC_PER_THREAD;
  const int image = blockIdx.z;
  const int tid = threadIdx.y * POOL_W + threadIdx.x;
  const size_t plane = static_cast<size_t>(height) * width;

  float acc[4][OC_PER_THREAD];  // [dy * 2 + dx][channel]
#pragma unroll
  for (int p = 0; p < 4; ++p)
#pragma unroll
    for (int o = 0; o < OC_PER_THREAD; ++o)
      acc[p][o] = 0.0f;

  for (int ic0 = 0; ic0 < in_channels; ic0 += IC_CHUNK) {
    const int halo = halo_h * halo_w;
    for (int i = tid; i < IC_CHUNK * halo; i += THREADS) {
      const int c = i / halo;
      const int yy = (i % halo) / halo_w;
      const int xx = (i % halo) % halo_w;
      const int gy = 2 * py0 + yy - pad;
      const int gx = 2 * px0 + xx - pad;
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
          float in[4];
#pragma unroll
          for (int p = 0; p < 4; ++p)
            in[p] = input_tile[(c * halo_h + 2 * threadIdx.y + (p >> 1) + kh) * halo_w +
                               2 * threadIdx.x + (p & 1) + kw];
#pragma unroll
          for (int o = 0; o < OC_PER_THREAD; ++o) {
            const float w = weight_tile[(o * IC_CHUNK + c) * taps + kh * ksize + kw];
#pragma unroll
            for (int p = 0; p < 4; ++p)
              acc[p][o] = fmaf(in[p], w, acc[p][o]);
          }
        }
      }
    }
    __syncthreads();
  }

  const int py = py0 + threadIdx.y;
  const int px = px0 + threadIdx.x;
  if (py >= pooled_h || px >= pooled_w)
    return;
  const size_t pooled_plane = static_cast<size_t>(pooled_h) * pooled_w;
#pragma unroll
  for (int o = 0; o < OC_PER_THREAD; ++o) {
    const int oc = oc0 + o;
    if (oc >= out_channels)
      continue;
    const float best = fmaxf(fmaxf(acc[0][o], acc[1][o]), fmaxf(acc[2][o], acc[3][o]));
    out[(static_cast<size_t>(image) * out_channels + oc) * pooled_plane +
        static_cast<size_t>(py) * pooled_w + px] = fmaxf(best + bias[oc], 0.0f);
  }
}
