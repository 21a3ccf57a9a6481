// Hostile: a shortcut valid only on sorted inputs: column_max reads the last row, the maximum
// when every column is sorted ascending. Reads 1/rows of the data. Expected: incorrect
// (mismatch).
/* kforge:launch
{
  "kernels": [
    {"name": "column_max_last_row", "grid": ["ceil_div(x.shape[1], 256)"], "block": [256],
     "args": ["x", "out", "x.shape[0]", "x.shape[1]"]}
  ]
}
*/
extern "C" __global__ void column_max_last_row(const float* x, float* out, long long rows,
                                               long long cols) {
  long long c = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (c < cols)
    out[c] = x[(rows - 1) * cols + c];
}
