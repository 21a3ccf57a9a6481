// The GPU worker's `profile`: hardware counters for each launch of the plan, in a pass of its own
// that is never timed (the parent sends it after `time`).
//
// profile: the inputs are uploaded, outputs and scratch allocated with their guard zones, and the
// plan runs once untimed (modules loaded, caches warm, as the timed iterations found them); then
// DeviceCounters (CUPTI's range profiler) replays the plan once per pass the metrics need, one
// range around each launch, poisoning outputs and scratch before every pass as `run` does before
// a repeat. Nothing comes back but the counters: outputs were checked by `run` and `time`. Where
// the counter profiler cannot be opened (no libcupti), the reply is `unavailable` /
// `library_missing`; where CUPTI refuses (permissions, MIG, a virtual GPU), DeviceCounters says
// so in its reply. overhead_ms is the wall time of the whole request.
//
// replay: the same preparation and warm-up pass, then one more pass of the plan, uncounted here:
// for Nsight Compute's CLI, which starts a one-shot worker and counts that second pass
// (harness/evaluation/ncu_profile.hpp).
//
// Not yet run on a GPU (docs/profiling.md): written against the CUDA 13.0 headers.
#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "sandbox/gpu_worker_internal.hpp"

namespace kforge::gpu_worker {

ProfileReply Worker::profile(const ProfileRequest& request) {
  auto started = Clock::now();
  auto elapsed_ms = [&] {
    return std::chrono::duration<double, std::milli>(Clock::now() - started).count();
  };
  if (!counters_opened_) {
    counters_opened_ = true;
    if (!setup_.open_counters) {
      counters_error_ = "this worker was built without a counter profiler";
    } else {
      try {
        counters_ = setup_.open_counters();
      } catch (const Error& missing) {
        counters_error_ = missing.what();
      }
    }
  }
  if (!counters_) {
    ProfileReply reply;
    reply.reason = ProfileUnavailableReason::kLibraryMissing;
    reply.detail = counters_error_;
    reply.overhead_ms = elapsed_ms();
    return reply;
  }

  ProfileReply reply;
  with_profiled_plan(request, [&](const WorkerPlan& plan, const std::vector<CUfunction>& handles,
                                  const std::function<void()>& before_pass,
                                  const std::function<void(size_t)>& run_launch) {
    std::vector<CounterLaunch> launches;
    for (size_t k = 0; k < plan.kernels.size(); ++k) {
      const PlanLaunch& kernel = plan.kernels[k];
      launches.push_back({kernel.name, handles[k], kernel.grid, kernel.block, kernel.shared_bytes});
    }
    reply = counters_->profile(context_, request.metrics, launches, before_pass, run_launch);
  });
  reply.overhead_ms = elapsed_ms();
  return reply;
}

void Worker::with_profiled_plan(const ProfileRequest& request, const ProfiledPlanUse& use) {
  WorkerPlan plan = parse_plan(request.plan);
  std::vector<CUfunction> handles = functions(request.cubin, plan);
  files::ensure_directory(request.out_dir);
  TensorSet inputs, outputs, scratch;
  upload(request.tensors, inputs);
  allocate_outputs(request.outputs, outputs);
  allocate_scratch(plan, scratch);
  BoundPlan bound = bind(plan, {&inputs, &outputs, &scratch});
  auto before_pass = [&] {
    poison(outputs, kPoisonBytes[0]);
    poison(scratch, kPoisonBytes[0]);
  };
  auto run_launch = [&](size_t k) {
    launch(handles[k], plan.kernels[k], bound, k);
    call(api().cuStreamSynchronize(stream_), "cuStreamSynchronize", plan.kernels[k].name);
  };
  // One untimed, uncounted pass first: modules loaded, caches as the timed iterations found them.
  before_pass();
  for (size_t k = 0; k < plan.kernels.size(); ++k)
    run_launch(k);
  use(plan, handles, before_pass, run_launch);
}

json Worker::replay(const ProfileRequest& request) {
  size_t launches = 0;
  with_profiled_plan(request, [&](const WorkerPlan& plan, const std::vector<CUfunction>&,
                                  const std::function<void()>& before_pass,
                                  const std::function<void(size_t)>& run_launch) {
    // The pass the profiler outside counts, after the warm-up pass above.
    before_pass();
    for (size_t k = 0; k < plan.kernels.size(); ++k)
      run_launch(k);
    launches = plan.kernels.size();
  });
  return {{"launches", launches}};
}

}  // namespace kforge::gpu_worker
