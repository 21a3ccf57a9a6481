// Hostile: float4 relu whose grid and loop assume the element count is a multiple of 1024 (true
// of 4096 x 4096 and of power-of-two check shapes): the tail of the shape off multiples of 32
// is never written. Expected: incorrect (wrong_on_check_shape; `unwritten_output` names the
// same failure from the other side).
/* kforge:launch
{
  "kernels": [
    {"name": "relu_float4_no_tail", "grid": ["max(1, x.numel / 1024)"], "block": [256],
     "args": ["x", "out"]}
  ]
}
*/
extern "C" __global__ void relu_float4_no_tail(const float4* x, float4* out) {
  const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  float4 v = x[i];
  v.x = fmaxf(v.x, 0.0f);
  v.y = fmaxf(v.y, 0.0f);
  v.z = fmaxf(v.z, 0.0f);
  v.w = fmaxf(v.w, 0.0f);
  out[i] = v;
}
