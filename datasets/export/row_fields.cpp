#include "datasets/export/row_fields.hpp"

#include <cstdio>

namespace kforge::dataset {

using nlohmann::json;

json parse_object(const std::string& text) {
  json parsed = json::parse(text, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object())
    return json::object();
  return parsed;
}

json parse_object(const std::optional<std::string>& text) {
  return text ? parse_object(*text) : json::object();
}

namespace {
std::optional<double> optional_number(const json& object, const char* key) {
  auto found = object.find(key);
  if (found == object.end() || !found->is_number())
    return std::nullopt;
  return found->get<double>();
}

std::string format_number(double value, const char* format) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}
}  // namespace

json number_or_null(const json& object, const char* key) {
  auto value = optional_number(object, key);
  return value ? json(*value) : json(nullptr);
}

CompileResources compile_resources(const json& compile) {
  CompileResources resources;
  auto figure = [](const json& kernel, const char* key) -> std::optional<int64_t> {
    auto found = kernel.find(key);
    if (found == kernel.end() || !found->is_number_integer() || found->get<int64_t>() < 0)
      return std::nullopt;
    return found->get<int64_t>();
  };
  auto keep_largest = [](std::optional<int64_t>& largest, std::optional<int64_t> value) {
    if (value && (!largest || *value > *largest))
      largest = value;
  };
  auto kernels = compile.find("kernels");
  if (kernels != compile.end() && kernels->is_array()) {
    for (const json& kernel : *kernels) {
      if (!kernel.is_object())
        continue;
      auto registers = figure(kernel, "registers");
      keep_largest(resources.registers, registers);
      // ptxas leaves "N bytes smem" out of a kernel's usage line when it uses none.
      auto shared = figure(kernel, "shared_bytes");
      keep_largest(resources.shared_bytes, shared || !registers ? shared : 0);
      keep_largest(resources.local_bytes, figure(kernel, "local_bytes"));
      auto stores = figure(kernel, "spill_store_bytes");
      auto loads = figure(kernel, "spill_load_bytes");
      if (stores || loads)
        keep_largest(resources.spill_bytes, stores.value_or(0) + loads.value_or(0));
    }
  }
  return resources;
}

std::optional<std::pair<double, double>> TimingSummary::spread_interval() const {
  if (p10_us && p90_us)
    return std::make_pair(*p10_us, *p90_us);
  if (median_us && cv)
    return std::make_pair(*median_us * (1.0 - *cv), *median_us * (1.0 + *cv));
  return std::nullopt;
}

TimingSummary timing_summary(const CandidateRow& row) {
  json timing = parse_object(row.timing);
  TimingSummary summary;
  summary.median_us = optional_number(timing, "median_us");
  if (!summary.median_us)
    summary.median_us = row.device_time_us;
  summary.min_us = optional_number(timing, "min_us");
  summary.mean_us = optional_number(timing, "mean_us");
  summary.p10_us = optional_number(timing, "p10_us");
  summary.p90_us = optional_number(timing, "p90_us");
  summary.cv = optional_number(timing, "cv");
  summary.span_us = optional_number(timing, "span_us");
  auto samples = timing.find("samples");
  if (row.timing_sample_count)
    summary.sample_count = row.timing_sample_count;
  else if (samples != timing.end() && samples->is_array())
    summary.sample_count = static_cast<int64_t>(samples->size());
  else if (auto count = optional_number(timing, "sample_count"))
    summary.sample_count = static_cast<int64_t>(*count);
  return summary;
}

json merged_environment(const CandidateRow& row) {
  json environment = parse_object(row.environment);
  json run_environment = parse_object(row.run_environment);
  for (const auto& [key, value] : run_environment.items()) {
    if (!environment.contains(key))
      environment[key] = value;
  }
  return environment;
}

const json& EnvironmentMerger::merged(const CandidateRow& row) {
  if (generation_ == 0 || row.environment != environment_ ||
      row.run_environment != run_environment_) {
    environment_ = row.environment;
    run_environment_ = row.run_environment;
    merged_ = merged_environment(row);
    ++generation_;
  }
  return merged_;
}

std::string row_license(const CandidateRow& row, const std::string& default_license) {
  return row.task_license && !row.task_license->empty() ? *row.task_license : default_license;
}

json row_metadata(const CandidateRow& row, const std::string& default_license) {
  auto optional = [](const auto& value) { return value ? json(*value) : json(nullptr); };
  return {{"candidate_id", row.candidate_id},
          {"evaluation_id", row.evaluation_id},
          {"task", row.task_name},
          {"task_source_hash", row.task_source_hash},
          {"suite", row.suite},
          {"verdict", row.verdict},
          {"speedup_eager", optional(row.speedup_eager)},
          {"speedup_compile", optional(row.speedup_compile)},
          {"device_time_us", optional(row.device_time_us)},
          {"gpu", optional(row.gpu)},
          {"arch", optional(row.arch)},
          {"harness_version", row.harness_version},
          {"origin", row.origin},
          {"model", optional(row.model())},
          {"license", row_license(row, default_license)}};
}

std::string system_prompt() {
  return "You write CUDA kernels for PyTorch programs. Answer with one kforge candidate file: "
         "CUDA C++ device code that NVRTC compiles, with its launch plan as JSON in a block "
         "comment starting with kforge:launch.";
}

std::string task_prompt(const CandidateRow& row) {
  std::string prompt =
      "Write a CUDA kernel file that computes the same outputs as this PyTorch program.\n\n"
      "```python\n" +
      row.task_source;
  if (!row.task_source.empty() && row.task_source.back() != '\n')
    prompt += '\n';
  prompt += "```\n\n";
  if (row.task_signature) {
    json signature = json::parse(*row.task_signature, nullptr, false);
    if (!signature.is_discarded())
      prompt += "Signature (benchmark shape):\n```json\n" + signature.dump() + "\n```\n\n";
  }
  prompt +=
      "The file is device code only (no host code), compiled by NVRTC. It starts with a block "
      "comment `/* kforge:launch {...} */` holding the launch plan as JSON: \"kernels\" (each "
      "with the extern \"C\" kernel \"name\", \"grid\" and \"block\" as 1 to 3 expressions, "
      "\"shared_bytes\" and \"args\"), \"scratch\" buffers ({\"name\", \"dtype\", \"numel\"}) and "
      "\"defines\" ({\"NAME\": {\"default\", \"values\"}}). Kernels run in order on one stream. "
      "Arguments name forward()'s inputs, state_dict keys, the outputs (`out`, or `out0`, "
      "`out1`, ... for a tuple) and scratch buffers; expressions use integers, `.shape[i]`, "
      "`.numel`, defines, + - * / %, ceil_div, min and max.";
  return prompt;
}

std::string feedback_text(const CandidateRow& row) {
  std::string text = "verdict: " + row.verdict;
  if (row.reason && !row.reason->empty())
    text += " (" + *row.reason + ")";
  json evidence = parse_object(row.evidence);
  if (auto error = optional_number(evidence, "max_abs_error"))
    text += "\nmax abs error: " + format_number(*error, "%.3g");
  if (auto error = optional_number(evidence, "max_rel_error"))
    text += "\nmax rel error: " + format_number(*error, "%.3g");
  if (auto count = optional_number(evidence, "mismatch_count"))
    text += "\nmismatches: " + format_number(*count, "%.0f");
  auto detail = evidence.find("detail");
  if (detail != evidence.end() && detail->is_string())
    text += "\n" + detail->get<std::string>();
  json compile = parse_object(row.compile);
  auto log = compile.find("log");
  if (row.verdict == "compile_error" && log != compile.end() && log->is_string())
    text += "\ncompile log:\n" + log->get<std::string>().substr(0, 2000);
  if (row.device_time_us)
    text += "\ndevice time: " + format_number(*row.device_time_us, "%.2f") + " us";
  if (row.speedup_eager)
    text += "\nspeedup vs eager: " + format_number(*row.speedup_eager, "%.2f") + "x";
  if (row.speedup_compile)
    text += "\nspeedup vs torch.compile: " + format_number(*row.speedup_compile, "%.2f") + "x";
  return text;
}

}  // namespace kforge::dataset
