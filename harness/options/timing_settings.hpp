// How a kernel is timed (timing.*), written once for everything that times one: a candidate on
// the GPU worker (RunSettings, and the protocol's TimeRequest) and a PyTorch baseline in the
// reference runner (BaselineRequest). Plain settings whose defaults harness/config.cpp reads.
#pragma once

namespace kforge {

struct TimingSettings {
  int warmup = 10;              // untimed iterations first
  int min_samples = 20;         // timed iterations at least
  int max_samples = 1000;       // and at most
  double target_spread = 0.02;  // stop once (p90 - p10) / median is at most this
  double time_cap_ms = 2000;    // stop after this much wall time in timed iterations
  bool flush_l2 = true;         // flush the L2 cache before every timed iteration
};

inline constexpr TimingSettings kDefaultTiming{};

}  // namespace kforge
