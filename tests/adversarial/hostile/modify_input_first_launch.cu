// Hostile: an honest relu that, on the first launch of its module only (a __device__ launch
// counter, bumped by a one-thread kernel before it), also adds 1 to every input element after
// reading it. Every output it writes is right for the input it read; the repeat after it
// computes from the changed input, so its output is wrong, which must not pass for a race
// (non_deterministic): the input check comes first. Expected: incorrect (inputs_modified).
/* kforge:launch
{
  "kernels": [
    {"name": "count_launch_first", "grid": [1], "block": [1], "args": []},
    {"name": "relu_modify_first", "grid": ["ceil_div(x.numel, 256)"], "block": [256],
     "args": ["x", "out", "x.numel"]}
  ]
}
*/
__device__ unsigned long long launches_first;

extern "C" __global__ void count_launch_first() {
  launches_first += 1;
}

extern "C" __global__ void relu_modify_first(float* x, float* out, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n)
    return;
  float value = x[i];
  out[i] = fmaxf(value, 0.0f);
  if (launches_first == 1)
    x[i] = value + 1.0f;
}
