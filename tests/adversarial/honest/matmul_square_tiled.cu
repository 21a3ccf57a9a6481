// Honest: the 16 x 16 shared-memory tiled product with fp32 accumulation on the square task,
// k = 4096: each output sums 4096 products in order, so it differs from cuBLAS's order by about
// PyTorch's own float32 error, over the fixed 1e-4 rule where results are near zero. The
// float32 tolerance grounded in the float64 reference accepts it. Must get `correct`.
/* kforge:launch
{
  "kernels": [
    {"name": "matmul_square_tiled16",
     "grid": ["ceil_div(b.shape[1], 16)", "ceil_div(a.shape[0], 16)"],
     "block": [16, 16],
     "args": ["a", "b", "out", "a.shape[0]", "a.shape[1]", "b.shape[1]"]}
  ]
}
*/
extern "C" __global__ void matmul_square_tiled16(const float* a, const float* b, float* c,
                                        int m, int k, int n) {
  __shared__ float tile_a[16][16];
  __shared__ float tile_b[16][16];
  const int row = blockIdx.y * 16 + threadIdx.y;
  const int col = blockIdx.x * 16 + threadIdx.x;
  float sum = 0.0f;
  for (int base = 0; base < k; base += 16) {
    const int ka = base + threadIdx.x;
    const int kb = base + threadIdx.y;
    tile_a[threadIdx.y][threadIdx.x] = (row < m && ka < k) ? a[(long long)row * k + ka] : 0.0f;
    tile_b[threadIdx.y][threadIdx.x] = (kb < k && col < n) ? b[(long long)kb * n + col] : 0.0f;
    __syncthreads();
#pragma unroll
    for (int i = 0; i < 16; ++i)
      sum += tile_a[threadIdx.y][i] * tile_b[i][threadIdx.x];
    __syncthreads();
  }
  if (row < m && col < n)
    c[(long long)row * n + col] = sum;
}
