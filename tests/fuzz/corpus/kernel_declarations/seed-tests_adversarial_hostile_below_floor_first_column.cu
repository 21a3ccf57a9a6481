// Hostile: "faster than the physical floor": row_sum reads one element per row and multiplies
// it by the row length, touching 1/16384 of the bytes a row sum must read. Expected: incorrect
// (mismatch).
/* kforge:launch
{
  "kernels": [
    {"name": "row_sum_first_column", "grid": ["ceil_div(x.shape[0], 256)"], "block": [256],
     "args": ["x", "out", "x.shape[0]", "x.shape[1]"]}
  ]
}
*/
extern "C" __global__ void row_sum_first_column(const float* x, float* out, long long rows,
                                                long long cols) {
  long long r = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (r < rows)
    out[r] = x[r * cols] * (float)cols;
}
