// Tuning a kernel of the library for the GPU at hand: the tuner (tuner.hpp) on the kernel's own
// kernel.cu and task, and the best correct point recorded in its manifest.json under
// "tuned"."<arch>" (define values, device time, speedup, GPU, run, date). The runtime uses those
// values on that architecture (kforge/kernels/library.hpp); the manifest's "defines" stay the
// fallback everywhere else. `kforge library tune NAME` and the nightly run call this.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "harness/autotune/tuner.hpp"

namespace kforge::autotune {

// Tunes the kernel in `folder` (kernel.cu and manifest.json) on `task` (its manifest's task,
// loaded and analysed) for the architecture `service` compiles for. `request` gives the
// strategy, seed and budgets; its task, source and file name are the kernel's. The manifest is
// rewritten (atomically) only when a point was correct. Errors as `tune`, and a folder without
// kernel.cu or manifest.json is an Error naming it.
TuneReport tune_library_kernel(Store& store, EvaluationService& service, const Task& task,
                               const std::filesystem::path& folder, TuneRequest request,
                               const TuneProgress& progress = {});

// Whether `manifest` records a tuned point for `arch` ("sm_90"): what the nightly run asks to
// find the kernels not yet tuned for the present architecture.
bool library_kernel_tuned(const nlohmann::json& manifest, const std::string& arch);

}  // namespace kforge::autotune
