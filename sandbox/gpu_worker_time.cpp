// The GPU worker's `time`: device time of the plan at the benchmark shape.
//
// time: each input set gets its own device copy, so rotating among them costs no copy. Warm-up
// launches (rotating) come first and are not recorded. Each timed iteration then: (on the fresh
// iteration only) poisons the outputs with kFreshPoisonByte; flushes L2 with cuMemsetD32Async over
// a buffer of twice the L2 size (at least 64 MiB), which produces no kernel record; launches the
// plan; waits for the stream. A launch's CUPTI correlation id ties its kernel record to its
// iteration, so only the candidate's own kernels are counted: an iteration's device time is the sum
// of its kernel durations, its span first start to last end. The iteration at (min_samples + 1) / 2
// runs on the fresh inputs and its outputs are written. Iterations go on until at least min_samples
// are in and past the fresh one, then stop at max_samples, at the wall-clock cap, or when
// enough_samples (profiler/statistics.hpp: (p90 - p10) / median within the target) says so.
// Every complete sample is returned; the parent summarises. Records are collected with CUPTI's
// ordinary flush inside the loop (it hands over only completed records) and with a forced flush
// once at the end; a kernel record whose timestamps are not set is never counted (its iteration
// stays incomplete and is left out). The guard zones are checked once, after the last
// iteration.
//
#include <algorithm>
#include <thread>

#include "harness/util/files.hpp"
#include "sandbox/gpu_worker_internal.hpp"

namespace kforge::gpu_worker {

DeviceTiming& Worker::timing() {
  if (!timing_)
    throw BadRequest{"device timing is unavailable: " + timing_error_};
  return *timing_;
}

const DeviceBuffer& Worker::flush_buffer() {
  // Twice the L2, so that nothing the previous iteration touched survives in it.
  size_t bytes = std::max<size_t>(2 * static_cast<size_t>(device_.l2_bytes), 64 << 20);
  if (!flush_ || flush_->bytes() < bytes)
    flush_ = std::make_unique<DeviceBuffer>(*this, bytes, "L2 flush buffer");
  return *flush_;
}

TimeReply Worker::time(const TimeRequest& request) {
  DeviceTiming& timer = timing();
  WorkerPlan plan = parse_plan(request.plan);
  std::vector<CUfunction> handles = functions(request.cubin, plan);
  files::ensure_directory(request.out_dir);
  std::vector<std::unique_ptr<TensorSet>> sets;
  for (const fs::path& path : request.input_sets) {
    sets.push_back(std::make_unique<TensorSet>());
    upload(path, *sets.back());
  }
  TensorSet fresh, outputs, scratch;
  bool has_fresh = !request.fresh_inputs.empty();
  if (has_fresh)
    upload(request.fresh_inputs, fresh);
  allocate_outputs(request.outputs, outputs);
  allocate_scratch(plan, scratch);
  std::vector<BoundPlan> bound;
  for (const auto& set : sets)
    bound.push_back(bind(plan, {set.get(), &outputs, &scratch}));
  BoundPlan fresh_bound = has_fresh ? bind(plan, {&fresh, &outputs, &scratch}) : BoundPlan{};
  const DeviceBuffer* flush = request.flush_l2 ? &flush_buffer() : nullptr;

  auto launch_all = [&](BoundPlan& parameters) {
    for (size_t k = 0; k < plan.kernels.size(); ++k)
      launch(handles[k], plan.kernels[k], parameters, k);
  };
  for (int w = 0; w < request.warmup; ++w)
    launch_all(bound[static_cast<size_t>(w) % bound.size()]);
  call(api().cuStreamSynchronize(stream_), "cuStreamSynchronize", "one of the plan's kernels");

  timer.start();
  StopTiming stop_timing{timer};
  std::vector<DeviceInterval> kernels, copies;
  timer.collect(kernels, copies, true);  // the warm-up's records are not ours to count
  kernels.clear();

  struct Iteration {
    int kernels = 0;
    uint64_t busy_ns = 0;
    uint64_t first_start = UINT64_MAX;
    uint64_t last_end = 0;
  };
  std::vector<Iteration> iterations;
  std::map<uint32_t, size_t> owner;  // correlation id → timed iteration
  int launches = static_cast<int>(plan.kernels.size());
  auto absorb = [&](bool force) {
    timer.collect(kernels, copies, force);
    for (const DeviceInterval& record : kernels) {
      auto found = owner.find(record.correlation_id);
      if (found == owner.end())
        continue;  // not one of the candidate's timed launches
      Iteration& iteration = iterations[found->second];
      ++iteration.kernels;
      iteration.busy_ns += record.end_ns - record.start_ns;
      iteration.first_start = std::min(iteration.first_start, record.start_ns);
      iteration.last_end = std::max(iteration.last_end, record.end_ns);
      owner.erase(found);
    }
    kernels.clear();
    copies.clear();
  };
  auto complete_samples = [&] {
    std::vector<double> samples;
    for (const Iteration& iteration : iterations) {
      if (iteration.kernels < launches)
        break;
      samples.push_back(static_cast<double>(iteration.busy_ns) / 1000.0);
    }
    return samples;
  };

  TimeReply reply;
  int fresh_iteration = has_fresh ? std::max(0, (request.min_samples + 1) / 2) : -1;
  auto started = Clock::now();
  auto cap = std::chrono::duration<double, std::milli>(request.time_cap_ms);
  for (int i = 0;; ++i) {
    bool is_fresh = i == fresh_iteration;
    iterations.push_back({});
    if (is_fresh)
      poison(outputs, kFreshPoisonByte);  // its outputs must be written by this very iteration
    if (flush) {
      call(api().cuMemsetD32Async(flush->pointer(), static_cast<unsigned>(i), flush->bytes() / 4,
                                  stream_),
           "cuMemsetD32Async");
    }
    BoundPlan& parameters = is_fresh ? fresh_bound : bound[static_cast<size_t>(i) % bound.size()];
    for (size_t k = 0; k < plan.kernels.size(); ++k) {
      launch(handles[k], plan.kernels[k], parameters, k);
      owner[timer.last_correlation_id()] = static_cast<size_t>(i);
    }
    call(api().cuStreamSynchronize(stream_), "cuStreamSynchronize", "one of the plan's kernels");
    if (is_fresh) {
      reply.fresh_iteration = i;
      reply.fresh_outputs = request.out_dir / "fresh_outputs.safetensors";
      download(outputs, reply.fresh_outputs);
    }
    absorb(false);
    int done = i + 1;
    if (done < request.min_samples || i < fresh_iteration)
      continue;
    if (done >= request.max_samples)
      break;
    if (Clock::now() - started >= cap) {
      reply.hit_time_cap = true;
      break;
    }
    if (timer.enough_samples(complete_samples(), static_cast<size_t>(request.min_samples),
                             static_cast<size_t>(request.max_samples), request.target_spread))
      break;
  }
  // Records can trail the synchronisation a little; wait for them, briefly, then force out
  // what is left (a record that is still incomplete then is left out, not counted as 0 µs).
  auto wait_until = Clock::now() + std::chrono::seconds(2);
  while (!owner.empty() && Clock::now() < wait_until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    absorb(false);
  }
  absorb(true);
  timer.stop();
  std::vector<const TensorSet*> guarded = {&fresh, &outputs, &scratch};
  for (const auto& set : sets)
    guarded.push_back(set.get());
  check_guards(guarded, "", -1, reply.guard_violations);
  reply.kernels_per_iteration = launches;
  for (const Iteration& iteration : iterations) {
    reply.kernels_per_iteration = std::min(reply.kernels_per_iteration, iteration.kernels);
    if (iteration.kernels < launches)
      continue;
    reply.device_us.push_back(static_cast<double>(iteration.busy_ns) / 1000.0);
    reply.span_us.push_back(static_cast<double>(iteration.last_end - iteration.first_start) /
                            1000.0);
  }
  return reply;
}

}  // namespace kforge::gpu_worker
