// Hostile: a + alpha * b with the task's alpha (0.75) compiled in; the plan still passes alpha,
// which the kernel ignores. Right for the task as written, wrong for any other alpha: the
// verification seeds after the first scale every float scalar input by a factor 10% to 50%
// away from 1. Expected: incorrect (mismatch, at seed 1).
/* kforge:launch
{
  "kernels": [
    {"name": "scaled_add_fixed", "grid": ["ceil_div(a.numel, 256)"], "block": [256],
     "args": ["a", "b", "alpha", "out", "a.numel"]}
  ]
}
*/
extern "C" __global__ void scaled_add_fixed(const float* a, const float* b, float alpha,
                                            float* out, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    out[i] = a[i] + 0.75f * b[i];
}
