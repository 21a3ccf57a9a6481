// Hostile: "faster than the physical floor": writes zeros everywhere without reading x, so it
// moves half the bytes relu must move. The zeros are wrong for every positive element, so the
// verification catches it before timing could call it fast. Expected: incorrect (mismatch).
/* kforge:launch
{
  "kernels": [
    {"name": "write_zeros", "grid": ["ceil_div(x.numel, 256)"], "block": [256],
     "args": ["x", "out", "x.numel"]}
  ]
}
*/
extern "C" __global__ void write_zeros(const float* x, float* out, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    out[i] = 0.0f;
}
