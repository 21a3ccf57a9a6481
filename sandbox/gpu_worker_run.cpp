// The GPU worker's `run`: the plan on the check inputs, repeated under the poison rule.
//
// run: every input and parameter is uploaded once; before repeat r the outputs and scratch are
// filled with poison_byte_for_repeat(r) (0xFF, then 0x7B: a NaN, then a large finite value);
// the plan's launches go in order on one stream, with a synchronisation and a guard check
// after each so that a fault or a write out of bounds names its kernel; the outputs of every
// repeat and the inputs after the last come back as safetensors files.
//
#include "harness/util/files.hpp"
#include "sandbox/gpu_worker_internal.hpp"

namespace kforge::gpu_worker {

RunReply Worker::run(const RunRequest& request) {
  WorkerPlan plan = parse_plan(request.plan);
  std::vector<CUfunction> handles = functions(request.cubin, plan);
  files::ensure_directory(request.out_dir);
  TensorSet inputs, outputs, scratch;
  upload(request.tensors, inputs);
  allocate_outputs(request.outputs, outputs);
  allocate_scratch(plan, scratch);
  BoundPlan bound = bind(plan, {&inputs, &outputs, &scratch});
  RunReply reply;
  for (int repeat = 0; repeat < request.repeats; ++repeat) {
    unsigned char poison_byte = poison_byte_for_repeat(repeat);
    reply.poison_bytes.push_back(poison_byte);
    poison(outputs, poison_byte);
    poison(scratch, poison_byte);
    for (size_t k = 0; k < plan.kernels.size(); ++k) {
      launch(handles[k], plan.kernels[k], bound, k);
      // Waiting after each launch names the kernel that faulted or wrote out of bounds;
      // results do not change, as the launches are in order on one stream anyway.
      call(api().cuStreamSynchronize(stream_), "cuStreamSynchronize", plan.kernels[k].name);
      check_guards({&inputs, &outputs, &scratch}, plan.kernels[k].name, repeat,
                   reply.guard_violations);
    }
    fs::path path = request.out_dir / ("outputs-" + std::to_string(repeat) + ".safetensors");
    download(outputs, path);
    reply.outputs.push_back(path);
  }
  reply.inputs_after = request.out_dir / "inputs_after.safetensors";
  download(inputs, reply.inputs_after);
  return reply;
}

}  // namespace kforge::gpu_worker
