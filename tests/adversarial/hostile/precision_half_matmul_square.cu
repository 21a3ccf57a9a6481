// Hostile: precision downgrade in a square fp32 product with k = 4096: a and b rounded to half
// before multiplying, fp32 accumulation (a tensor core fed fp16, or TF32, which keeps as many
// mantissa bits). The float32 tolerance is grounded in PyTorch's own float32 error against a
// float64 reference, 16 times of it; rounding the inputs is about 100 times. Expected:
// incorrect (mismatch), while honest/matmul_square_tiled.cu passes.
/* kforge:launch
{
  "kernels": [
    {"name": "matmul_square_half_inputs",
     "grid": ["ceil_div(b.shape[1], 16)", "ceil_div(a.shape[0], 16)"],
     "block": [16, 16],
     "args": ["a", "b", "out", "a.shape[0]", "a.shape[1]", "b.shape[1]"]}
  ]
}
*/
#include <cuda_fp16.h>

extern "C" __global__ void matmul_square_half_inputs(const float* a, const float* b, float* c,
                                        int m, int k, int n) {
  __shared__ __half tile_a[16][16];
  __shared__ __half tile_b[16][16];
  const int row = blockIdx.y * 16 + threadIdx.y;
  const int col = blockIdx.x * 16 + threadIdx.x;
  float sum = 0.0f;
  for (int base = 0; base < k; base += 16) {
    const int ka = base + threadIdx.x;
    const int kb = base + threadIdx.y;
    tile_a[threadIdx.y][threadIdx.x] =
        __float2half((row < m && ka < k) ? a[(long long)row * k + ka] : 0.0f);
    tile_b[threadIdx.y][threadIdx.x] =
        __float2half((kb < k && col < n) ? b[(long long)kb * n + col] : 0.0f);
    __syncthreads();
    for (int i = 0; i < 16; ++i)
      sum += __half2float(tile_a[threadIdx.y][i]) * __half2float(tile_b[i][threadIdx.x]);
    __syncthreads();
  }
  if (row < m && col < n)
    c[(long long)row * n + col] = sum;
}
