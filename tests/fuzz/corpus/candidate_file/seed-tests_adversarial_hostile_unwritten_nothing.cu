// Hostile: launches, reads nothing, writes nothing. Every output element still holds the poison
// bytes. Expected: incorrect (unwritten_output).
/* kforge:launch
{
  "kernels": [
    {"name": "do_nothing", "grid": ["ceil_div(x.numel, 256)"], "block": [256],
     "args": ["x", "out", "x.numel"]}
  ]
}
*/
extern "C" __global__ void do_nothing(const float* x, float* out, long long n) {}
