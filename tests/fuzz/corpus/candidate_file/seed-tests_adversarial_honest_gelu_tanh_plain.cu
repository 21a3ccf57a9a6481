// Honest: the tanh GELU in fp32 with tanhf, one element per thread, bounds-checked. Must get
// `correct`.
/* kforge:launch
{
  "kernels": [
    {"name": "gelu_tanh_plain", "grid": ["ceil_div(x.numel, 512)"], "block": [512],
     "args": ["x", "out", "x.numel"]}
  ]
}
*/
extern "C" __global__ void gelu_tanh_plain(const float* x, float* out, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n)
    return;
  const float v = x[i];
  const float inner = 0.7978845608028654f * (v + 0.044715f * v * v * v);
  out[i] = 0.5f * v * (1.0f + tanhf(inner));
}
