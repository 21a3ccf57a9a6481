// Honest: relu with a grid-stride loop and 64-bit indices; any element count (the odd check
// shape has a tail that is not a multiple of anything). Must get `correct`.
/* kforge:launch
{
  "kernels": [
    {"name": "relu_grid_stride", "grid": ["min(ceil_div(x.numel, BLOCK), 65536)"],
     "block": ["BLOCK"], "args": ["x", "out", "x.numel"]}
  ],
  "defines": {"BLOCK": {"default": 256, "values": [128, 256]}}
}
*/
extern "C" __global__ void relu_grid_stride(const float* __restrict__ x, float* __restrict__ out,
                                            long long n) {
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x) {
    float v = x[i];
    out[i] = (v > 0.0f || v != v) ? v : 0.0f;
  }
}
