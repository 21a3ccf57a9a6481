#include "harness/library/manifest.hpp"

#include <chrono>
#include <ctime>

#include "harness/candidate/kernel_declarations.hpp"
#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "harness/util/hash.hpp"

namespace kforge {
namespace {

// The statistics of `timing` a verification keeps: enough to compare two kernels by their spread.
nlohmann::json timing_summary(const std::optional<TimingRecord>& timing) {
  if (!timing)
    return nlohmann::json::object();
  const TimingStatistics& statistics = timing->statistics;
  return {{"median_us", statistics.median_us}, {"min_us", statistics.min_us},
          {"mean_us", statistics.mean_us},     {"p10_us", statistics.p10_us},
          {"p90_us", statistics.p90_us},       {"cv", statistics.cv}};
}

nlohmann::json optional_number(const std::optional<double>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json();
}

const nlohmann::json* field(const nlohmann::json& json, const std::string& key) {
  return json.is_object() && json.contains(key) ? &json[key] : nullptr;
}

// A string field of an object, or "" (json::value throws for a field of another type, or when
// `json` is not an object, and a manifest is a file anyone can edit).
std::string text(const nlohmann::json& json, const char* key) {
  const nlohmann::json* found = field(json, key);
  return found && found->is_string() ? found->get<std::string>() : std::string();
}

}  // namespace

std::string library_operation(const std::string& task_name) {
  const size_t slash = task_name.find('/');
  if (slash == std::string::npos)
    return task_name;
  const std::string suite = task_name.substr(0, slash);
  const std::string stem = task_name.substr(slash + 1);
  return suite == "builtin" ? stem : suite + "." + stem;
}

nlohmann::json kernel_parameters_json(const CandidateFile& candidate) {
  nlohmann::json kernels = nlohmann::json::object();
  for (const KernelLaunch& launch : candidate.plan.kernels) {
    for (const KernelDeclaration& declaration : candidate.kernels) {
      if (declaration.name != launch.name)
        continue;
      nlohmann::json parameters = nlohmann::json::array();
      for (const KernelParameter& parameter : declaration.parameters) {
        nlohmann::json entry = {
            {"name", parameter.name}, {"type", parameter.type}, {"pointer", parameter.pointer}};
        if (parameter.value_type)
          entry["value_type"] = scalar_type_name(*parameter.value_type);
        parameters.push_back(entry);
      }
      kernels[launch.name] = parameters;
      break;
    }
  }
  return kernels;
}

nlohmann::json verification_json(const StoredEvaluation& evaluation) {
  const EvaluationRecord& record = evaluation.record;
  const EvidenceRecord& evidence = record.evidence;
  return {{"arch", record.arch},
          {"gpu", record.gpu},
          {"speedup_eager", optional_number(record.speedup_eager)},
          {"speedup_compile", optional_number(record.speedup_compile)},
          {"device_time_us", optional_number(record.device_time_us)},
          {"timing", timing_summary(record.timing)},
          {"floor", evidence.floor ? evidence.floor->to_json() : nlohmann::json()},
          {"baselines", evidence.baselines ? evidence.baselines->to_json() : nlohmann::json()},
          {"evaluation_id", record.evaluation_id},
          {"harness_version", evaluation.harness_version},
          {"environment", evaluation.versions_json()},
          {"date", evaluation.created_at}};
}

nlohmann::json build_manifest(const Task& task, const std::string& variant,
                              const CandidateFile& candidate, const nlohmann::json& defines,
                              const std::optional<CandidateRow>& candidate_row,
                              const std::optional<StoredEvaluation>& evaluation,
                              const std::string& date) {
  if (!task.analysis)
    throw Error("the task has not been analysed, so its signature is unknown", task.name);
  nlohmann::json manifest = {
      {"manifest_version", kManifestVersion},
      {"task",
       {{"name", task.name},
        {"version", task.version},
        {"source_hash", task.source_hash},
        {"signature", task.analysis->benchmark.to_json()}}},
      {"operation", library_operation(task.name)},
      {"variant", variant},
      {"kernel", {{"file", "kernel.cu"}, {"source_hash", sha256_hex(candidate.source())}}},
      {"launch", candidate.plan.to_json()},
      {"parameters", kernel_parameters_json(candidate)},
      {"defines", defines},
      {"architectures", nlohmann::json::array()},
      {"verified", nlohmann::json::array()},
      {"tolerance", nullptr},
  };
  nlohmann::json provenance = {{"origin", candidate_row ? candidate_row->origin : "seed"},
                               {"candidate_id", nullptr},
                               {"run_id", nullptr},
                               {"evaluation_id", nullptr},
                               {"date", date},
                               {"versions", nlohmann::json::object()}};
  if (candidate_row) {
    provenance["candidate_id"] = candidate_row->id;
    if (candidate_row->run_id)
      provenance["run_id"] = *candidate_row->run_id;
  }
  if (evaluation) {
    const std::optional<VerificationRecord>& verification =
        evaluation->record.evidence.verification;
    manifest["architectures"].push_back(evaluation->record.arch);
    manifest["verified"].push_back(verification_json(*evaluation));
    manifest["tolerance"] = {
        {"atol", verification ? optional_number(verification->atol) : nlohmann::json()},
        {"rtol", verification ? optional_number(verification->rtol) : nlohmann::json()}};
    provenance["evaluation_id"] = evaluation->record.evaluation_id;
    provenance["versions"] = evaluation->versions_json();
    provenance["versions"]["harness_version"] = evaluation->harness_version;
  }
  manifest["provenance"] = provenance;
  return manifest;
}

std::vector<std::string> check_manifest(const nlohmann::json& manifest, const std::string& source,
                                        const Task& task) {
  std::vector<std::string> problems;
  for (const char* key : {"manifest_version", "task", "kernel", "launch", "parameters", "defines",
                          "architectures", "verified", "provenance"})
    if (!field(manifest, key))
      problems.push_back(std::string("missing key \"") + key + "\"");
  if (!problems.empty())
    return problems;

  const nlohmann::json& task_json = manifest["task"];
  if (text(task_json, "name") != task.name)
    problems.push_back("task.name is '" + text(task_json, "name") + "', not '" + task.name + "'");
  if (text(task_json, "source_hash") != task.source_hash)
    problems.push_back("task.source_hash " + text(task_json, "source_hash") +
                       " is not the task's current source hash " + task.source_hash);
  const nlohmann::json* signature = field(task_json, "signature");
  if (task.analysis && (!signature || *signature != task.analysis->benchmark.to_json()))
    problems.push_back("task.signature is not the task's current signature " +
                       task.analysis->benchmark.to_json().dump());
  const std::string hash = sha256_hex(source);
  if (text(manifest["kernel"], "source_hash") != hash)
    problems.push_back("kernel.source_hash " + text(manifest["kernel"], "source_hash") +
                       " does not match kernel.cu (" + hash + ")");

  PlanResult<CandidateFile> parsed = parse_candidate(source, "kernel.cu");
  if (!parsed.ok()) {
    problems.push_back("kernel.cu does not parse: " + parsed.error().message());
    return problems;
  }
  const CandidateFile& candidate = parsed.value();
  if (manifest["launch"] != candidate.plan.to_json())
    problems.push_back("launch is not the plan in kernel.cu");
  if (manifest["parameters"] != kernel_parameters_json(candidate))
    problems.push_back("parameters are not the kernel declarations in kernel.cu");
  for (const auto& [name, value] : manifest["defines"].items())
    if (!candidate.plan.find_define(name) || !value.is_number_integer())
      problems.push_back("defines." + name + " is not an integer define of kernel.cu");
  if (manifest["architectures"].size() != 0 && manifest["verified"].empty())
    problems.push_back("architectures are listed but no verification is recorded");
  return problems;
}

nlohmann::json read_manifest(const std::filesystem::path& path) {
  const std::string text = files::read(path, 16 << 20);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& error) {
    // parse_error, and out_of_range for a number too large for a double ("2e3832").
    throw Error("manifest is not valid JSON: " + std::string(error.what()), path.string());
  }
}

std::string utc_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm parts{};
  gmtime_r(&now, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

}  // namespace kforge
