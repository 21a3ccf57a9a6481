// Hostile: an honest relu that, on the second launch of its module only (a __device__ launch
// counter, bumped by a one-thread kernel before it), also adds 1 to every input element after
// reading it. Every output it writes is right for the input it read; only the input check sees
// the change. Expected: incorrect (inputs_modified).
/* kforge:launch
{
  "kernels": [
    {"name": "count_launch_second", "grid": [1], "block": [1], "args": []},
    {"name": "relu_modify_second", "grid": ["ceil_div(x.numel, 256)"], "block": [256],
     "args": ["x", "out", "x.numel"]}
  ]
}
*/
__device__ unsigned long long launches_second;

extern "C" __global__ void count_launch_second() {
  launches_second += 1;
}

extern "C" __global__ void relu_modify_second(float* x, float* out, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n)
    return;
  float value = x[i];
  out[i] = fmaxf(value, 0.0f);
  if (launches_second == 2)
    x[i] = value + 1.0f;
}
