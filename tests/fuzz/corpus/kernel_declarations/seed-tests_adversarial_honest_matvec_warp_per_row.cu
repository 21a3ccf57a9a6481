// Honest: matrix-vector product, one warp per row, fp32 lane sums combined with shuffles; rows
// past the end are skipped (the odd check shape). Must get `correct`.
/* kforge:launch
{
  "kernels": [
    {"name": "matvec_warp_per_row", "grid": ["ceil_div(a.shape[0], 8)"], "block": [32, 8],
     "args": ["a", "v", "out", "a.shape[0]", "a.shape[1]"]}
  ]
}
*/
extern "C" __global__ void matvec_warp_per_row(const float* a, const float* v, float* out,
                                               long long rows, long long cols) {
  long long r = (long long)blockIdx.x * blockDim.y + threadIdx.y;
  if (r >= rows)
    return;
  const float* row = a + r * cols;
  float sum = 0.0f;
  for (long long c = threadIdx.x; c < cols; c += 32)
    sum += row[c] * v[c];
  for (int offset = 16; offset > 0; offset /= 2)
    sum += __shfl_xor_sync(0xffffffffu, sum, offset);
  if (threadIdx.x == 0)
    out[r] = sum;
}
