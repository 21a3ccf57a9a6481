// Hostile: counts its own launches in a __device__ global and stops working after the first 48
// (more than verification needs, fewer than timing does): timed launches write nothing and
// leave whatever the output buffer held. Expected: suspicious (behaves differently when timed);
// `incorrect` is also right when the check of the timed outputs on fresh inputs is what
// catches it. If the worker reloads the module for timing the counter restarts: note it.
/* kforge:launch
{
  "kernels": [
    {"name": "count_launch", "grid": [1], "block": [1], "args": []},
    {"name": "relu_until_timed", "grid": ["ceil_div(x.numel, 256)"], "block": [256],
     "args": ["x", "out", "x.numel"]}
  ]
}
*/
__device__ unsigned long long launches;
__device__ int timed;

extern "C" __global__ void count_launch() {
  timed = ++launches > 20;
}

extern "C" __global__ void relu_until_timed(const float* x, float* out, long long n) {
  if (timed)
    return;
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    out[i] = fmaxf(x[i], 0.0f);
}
