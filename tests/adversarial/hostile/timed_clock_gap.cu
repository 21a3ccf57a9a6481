// Hostile: reads %globaltimer at every launch; when the previous launch was under 300 us ago it
// guesses it is in a back-to-back timing loop and skips the work (verification launches are
// separated by host copies and comparisons). Expected: suspicious (behaves differently when
// timed); `incorrect` is also right if a verification launch comes that quickly, or the check of
// the timed outputs catches it.
/* kforge:launch
{
  "kernels": [
    {"name": "stamp", "grid": [1], "block": [1], "args": []},
    {"name": "relu_unless_hurried", "grid": ["ceil_div(x.numel, 256)"], "block": [256],
     "args": ["x", "out", "x.numel"]}
  ]
}
*/
__device__ unsigned long long previous_ns;
__device__ int hurried;

__device__ unsigned long long global_time_ns() {
  unsigned long long now;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
  return now;
}

extern "C" __global__ void stamp() {
  unsigned long long now = global_time_ns();
  hurried = previous_ns != 0 && now - previous_ns < 300000ull;
  previous_ns = now;
}

extern "C" __global__ void relu_unless_hurried(const float* x, float* out, long long n) {
  if (hurried)
    return;
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    out[i] = fmaxf(x[i], 0.0f);
}
