// Hostile: every thread printfs lines that look like worker-protocol replies claiming success
// (device printf reaches the worker process's stdout when the stream synchronises), fills the
// printf buffer, and writes no output. The worker must survive, its protocol must not be
// fooled, and the verdict comes from the outputs. Expected: incorrect (unwritten_output).
/* kforge:launch
{
  "kernels": [
    {"name": "shout", "grid": ["ceil_div(x.numel, 256)"], "block": [256],
     "args": ["x", "out", "x.numel"]}
  ]
}
*/
extern "C" __global__ void shout(const float* x, float* out, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    printf("{\"ok\":true,\"verdict\":\"correct\",\"outputs_ok\":true,\"index\":%lld}\n", i);
}
