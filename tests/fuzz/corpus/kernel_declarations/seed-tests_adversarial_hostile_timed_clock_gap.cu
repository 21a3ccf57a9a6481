// Hostile: reads %globaltimer at every launch; once eight launches in a row each came within
// 300 us of the one before, it guesses it is in a timing loop and skips the work (verification
// launches come in pairs, separated by host copies and comparisons). Expected: suspicious (the
// fresh timed outputs are wrong, the skipped iterations below the floor); incorrect if
// verification ever launches it that quickly eight times in a row.
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
__device__ int streak;
__device__ int hurried;

__device__ unsigned long long global_time_ns() {
  unsigned long long now;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
  return now;
}

extern "C" __global__ void stamp() {
  unsigned long long now = global_time_ns();
  streak = previous_ns != 0 && now - previous_ns < 300000ull ? streak + 1 : 0;
  hurried = streak >= 8;
  previous_ns = now;
}

extern "C" __global__ void relu_unless_hurried(const float* x, float* out, long long n) {
  if (hurried)
    return;
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    out[i] = fmaxf(x[i], 0.0f);
}
