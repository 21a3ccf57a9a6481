// The manifest of a shipped kernel: kernels/<operation>/<variant>/manifest.json beside its
// kernel.cu. It says what the kernel computes (the task, its source hash and signature), how to
// launch it (the plan, each kernel's parameters as declared, the define values it was verified
// with), where it was verified and how fast it was there (per architecture and GPU, against
// eager and torch.compile, with the timing spread), the tolerance it was checked at, and where
// it came from (candidate, run, origin, date, versions).
//
// The runtime (kernels/runtime) reads the same file without the rest of kforge; the field
// names below are the contract between the two.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "datasets/records.hpp"
#include "harness/candidate/candidate_file.hpp"
#include "harness/evaluation/stored_evaluation.hpp"
#include "harness/task.hpp"

namespace kforge {

inline constexpr int kManifestVersion = 1;

// "builtin/softmax" -> "softmax"; "kb1/19_ReLU" -> "kb1.19_ReLU": the library folder of a task.
std::string library_operation(const std::string& task_name);

// Each launched kernel's parameters from its extern "C" declaration:
// {"relu": [{"name": "x", "type": "float*", "pointer": true}, {"name": "n", "type": "long",
//  "pointer": false, "value_type": "int64"}]}. The runtime types its arguments from this.
nlohmann::json kernel_parameters_json(const CandidateFile& candidate);

// One verified measurement, from a `correct` evaluation that ran on a GPU.
nlohmann::json verification_json(const StoredEvaluation& evaluation);

// A new manifest. `evaluation` is absent for a seed (nothing verified, no tolerance).
nlohmann::json build_manifest(const Task& task, const std::string& variant,
                              const CandidateFile& candidate, const nlohmann::json& defines,
                              const std::optional<CandidateRow>& candidate_row,
                              const std::optional<StoredEvaluation>& evaluation,
                              const std::string& date);

// What is wrong with `manifest` for the kernel file `source` and the task `task` (analysed):
// a missing field, a signature that is not the task's current one, a hash that does not match,
// a plan or parameter list that is not the file's. Empty when it is consistent.
std::vector<std::string> check_manifest(const nlohmann::json& manifest, const std::string& source,
                                        const Task& task);

nlohmann::json read_manifest(const std::filesystem::path& path);

// The current UTC time, "2026-11-23T17:00:00Z".
std::string utc_now();

}  // namespace kforge
