#include "harness/evaluation/evaluation_record.hpp"

#include <array>
#include <set>
#include <utility>

#include "harness/util/error.hpp"

namespace kforge {
namespace {

using nlohmann::json;

constexpr std::array kStageStatusNames = std::to_array<std::pair<StageStatus, std::string_view>>({
    {StageStatus::kOk, "ok"},
    {StageStatus::kFailed, "failed"},
    {StageStatus::kSkipped, "skipped"},
});

// Reads the members of one JSON object of a record, strictly: a missing member, one of the wrong
// type or one the record does not know is an Error naming it by its path from the record's top.
class Fields {
 public:
  Fields(const json& object, std::string path, std::string where)
      : object_(object), path_(std::move(path)), where_(std::move(where)) {
    if (!object_.is_object())
      fail(path_.empty() ? "the evaluation record" : "field '" + path_ + "'",
           "must be a JSON object");
  }

  const std::string& where() const { return where_; }
  std::string path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  bool has(const std::string& key) const { return object_.contains(key); }
  bool has_value(const std::string& key) const { return has(key) && !object_[key].is_null(); }

  const json& member(const std::string& key, json::value_t type, const char* type_name) const {
    seen_.insert(key);
    if (!has(key))
      fail("field '" + path(key) + "'", "is missing");
    const json& value = object_[key];
    bool matches = type == json::value_t::number_float     ? value.is_number()
                   : type == json::value_t::number_integer ? value.is_number_integer()
                                                           : value.type() == type;
    if (!matches)
      fail("field '" + path(key) + "'", std::string("must be ") + type_name);
    return value;
  }
  std::string text(const std::string& key) const {
    return member(key, json::value_t::string, "a string").get<std::string>();
  }
  double number(const std::string& key) const {
    return member(key, json::value_t::number_float, "a number").get<double>();
  }
  int64_t integer(const std::string& key) const {
    return member(key, json::value_t::number_integer, "an integer").get<int64_t>();
  }
  bool boolean(const std::string& key) const {
    return member(key, json::value_t::boolean, "true or false").get<bool>();
  }
  const json& object(const std::string& key) const {
    return member(key, json::value_t::object, "a JSON object");
  }
  const json& array(const std::string& key) const {
    return member(key, json::value_t::array, "an array");
  }
  // Any JSON value, present.
  const json& any(const std::string& key) const {
    seen_.insert(key);
    if (!has(key))
      fail("field '" + path(key) + "'", "is missing");
    return object_[key];
  }

  // Absent and null both read as nothing.
  std::optional<double> optional_number(const std::string& key) const {
    seen_.insert(key);
    return has_value(key) ? std::optional(number(key)) : std::nullopt;
  }
  std::optional<int64_t> optional_integer(const std::string& key) const {
    seen_.insert(key);
    return has_value(key) ? std::optional(integer(key)) : std::nullopt;
  }
  std::optional<std::string> optional_text(const std::string& key) const {
    seen_.insert(key);
    return has_value(key) ? std::optional(text(key)) : std::nullopt;
  }
  std::optional<json> optional_any(const std::string& key) const {
    seen_.insert(key);
    return has(key) ? std::optional(object_[key]) : std::nullopt;
  }

  // Every member not read so far, for records whose rest is open evidence.
  json rest() const {
    json rest = json::object();
    for (const auto& [key, value] : object_.items()) {
      if (!seen_.contains(key))
        rest[key] = value;
    }
    return rest;
  }
  // Refuses a member that was not read: a key this version of the record does not have.
  void no_others() const {
    for (const auto& [key, value] : object_.items()) {
      if (!seen_.contains(key))
        fail("field '" + path(key) + "'", "is not part of an evaluation record version " +
                                              std::to_string(kEvaluationRecordVersion));
    }
  }

  [[noreturn]] void fail(const std::string& what, const std::string& problem) const {
    throw Error("evaluation record: " + what + " " + problem, where_);
  }

 private:
  const json& object_;
  std::string path_;
  std::string where_;
  mutable std::set<std::string> seen_;
};

std::string element_path(const std::string& path, size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

json optional_number_json(std::optional<double> value) {
  return value ? json(*value) : json(nullptr);
}

std::vector<StageRecord> stages_from_json(const Fields& fields) {
  std::vector<StageRecord> stages;
  const json& array = fields.array("stages");
  for (size_t i = 0; i < array.size(); ++i) {
    Fields stage(array[i], element_path("stages", i), fields.where());
    StageRecord record;
    record.name = stage.text("name");
    std::string status = stage.text("status");
    auto parsed = stage_status_from_name(status);
    if (!parsed)
      stage.fail("field '" + stage.path("status") + "'",
                 "is '" + status + "', not ok, failed or skipped");
    record.status = *parsed;
    record.ms = stage.number("ms");
    record.detail = stage.text("detail");
    stage.no_others();
    stages.push_back(std::move(record));
  }
  return stages;
}

KernelResources resources_from_record(const json& json_value, const std::string& path,
                                      const std::string& where) {
  Fields fields(json_value, path, where);
  KernelResources kernel;
  kernel.name = fields.text("name");
  kernel.registers = static_cast<int>(fields.integer("registers"));
  kernel.barriers = static_cast<int>(fields.integer("barriers"));
  kernel.shared_bytes = fields.integer("shared_bytes");
  kernel.constant_bytes = fields.integer("constant_bytes");
  kernel.stack_frame_bytes = fields.integer("stack_frame_bytes");
  kernel.spill_store_bytes = fields.integer("spill_store_bytes");
  kernel.spill_load_bytes = fields.integer("spill_load_bytes");
  kernel.local_bytes = fields.integer("local_bytes");
  fields.no_others();
  return kernel;
}

CompileResult compile_from_json(const json& json_value, const std::string& where) {
  Fields fields(json_value, "compile", where);
  CompileResult compile;
  std::string status = fields.text("status");
  auto parsed = compile_status_from_name(status);
  if (!parsed)
    fields.fail("field 'compile.status'", "is '" + status + "', not a compile status");
  compile.status = *parsed;
  compile.detail = fields.text("detail");
  compile.log = fields.text("log");
  compile.log_bytes = static_cast<size_t>(fields.integer("log_bytes"));
  compile.compile_ms = fields.number("compile_ms");
  compile.wall_ms = fields.number("wall_ms");
  compile.nvrtc_version = fields.text("nvrtc_version");
  compile.arch = fields.text("arch");
  compile.from_cache = fields.boolean("from_cache");
  const json& kernels = fields.array("kernels");
  for (size_t i = 0; i < kernels.size(); ++i)
    compile.kernels.push_back(
        resources_from_record(kernels[i], element_path("compile.kernels", i), where));
  fields.no_others();
  return compile;
}

TimingStatistics statistics_from(const Fields& fields) {
  TimingStatistics statistics;
  statistics.count = fields.integer("count");
  statistics.median_us = fields.number("median_us");
  statistics.min_us = fields.number("min_us");
  statistics.max_us = fields.number("max_us");
  statistics.mean_us = fields.number("mean_us");
  statistics.p10_us = fields.number("p10_us");
  statistics.p90_us = fields.number("p90_us");
  statistics.stddev_us = fields.number("stddev_us");
  statistics.cv = fields.number("cv");
  return statistics;
}

std::vector<double> numbers_from(const Fields& fields, const std::string& key) {
  std::vector<double> numbers;
  const json& array = fields.array(key);
  for (size_t i = 0; i < array.size(); ++i) {
    if (!array[i].is_number())
      fields.fail("field '" + element_path(fields.path(key), i) + "'", "must be a number");
    numbers.push_back(array[i].get<double>());
  }
  return numbers;
}

}  // namespace

std::string_view stage_status_name(StageStatus status) {
  for (const auto& [value, name] : kStageStatusNames) {
    if (value == status)
      return name;
  }
  return "unknown";
}

std::optional<StageStatus> stage_status_from_name(std::string_view name) {
  for (const auto& [value, known] : kStageStatusNames) {
    if (known == name)
      return value;
  }
  return std::nullopt;
}

json StageRecord::to_json() const {
  return {{"name", name}, {"status", stage_status_name(status)}, {"ms", ms}, {"detail", detail}};
}

json stages_to_json(const std::vector<StageRecord>& stages) {
  json array = json::array();
  for (const StageRecord& stage : stages)
    array.push_back(stage.to_json());
  return array;
}

json compile_summary_to_json(const CompileResult& result) {
  json json_value = {{"status", compile_status_name(result.status)},
                     {"detail", result.detail},
                     {"log", result.log},
                     {"log_bytes", result.log_bytes},
                     {"compile_ms", result.compile_ms},
                     {"wall_ms", result.wall_ms},
                     {"nvrtc_version", result.nvrtc_version},
                     {"arch", result.arch},
                     {"from_cache", result.from_cache},
                     {"kernels", json::array()}};
  for (const KernelResources& kernel : result.kernels)
    json_value["kernels"].push_back(resources_to_json(kernel));
  return json_value;
}

json CheckRecord::to_json() const {
  json json_value = evidence;
  json_value["seed"] = seed;
  json_value["shape"] = shape;
  json_value["passed"] = passed;
  json_value["reason"] = reason ? json(*reason) : json(nullptr);
  if (timed) {
    json_value["timed"] = true;
    json_value["iteration"] = iteration.value_or(0);
  }
  if (max_abs_error)
    json_value["max_abs_error"] = *max_abs_error;
  if (max_rel_error)
    json_value["max_rel_error"] = *max_rel_error;
  if (mismatch_count)
    json_value["mismatch_count"] = *mismatch_count;
  return json_value;
}

CheckRecord CheckRecord::from_json(const json& json_value, const std::string& path,
                                   const std::string& where) {
  Fields fields(json_value, path, where);
  CheckRecord check;
  check.seed = fields.integer("seed");
  check.shape = fields.text("shape");
  check.passed = fields.boolean("passed");
  fields.any("reason");
  check.reason = fields.optional_text("reason");
  if (fields.has("timed")) {
    check.timed = fields.boolean("timed");
    check.iteration = fields.integer("iteration");
  }
  check.max_abs_error = fields.optional_number("max_abs_error");
  check.max_rel_error = fields.optional_number("max_rel_error");
  check.mismatch_count = fields.optional_integer("mismatch_count");
  check.evidence = fields.rest();
  return check;
}

json TimingRecord::to_json() const {
  return {{"count", statistics.count},
          {"median_us", statistics.median_us},
          {"min_us", statistics.min_us},
          {"max_us", statistics.max_us},
          {"mean_us", statistics.mean_us},
          {"p10_us", statistics.p10_us},
          {"p90_us", statistics.p90_us},
          {"stddev_us", statistics.stddev_us},
          {"cv", statistics.cv},
          {"span_us", span_us},
          {"samples", samples},
          {"span_samples", span_samples},
          {"kernels_per_iteration", kernels_per_iteration},
          {"fresh_iteration", fresh_iteration},
          {"hit_time_cap", hit_time_cap},
          {"input_sets", input_sets},
          {"method", method}};
}

TimingRecord TimingRecord::from_json(const json& json_value, const std::string& where) {
  Fields fields(json_value, "timing", where);
  TimingRecord timing;
  timing.statistics = statistics_from(fields);
  timing.span_us = fields.number("span_us");
  timing.samples = numbers_from(fields, "samples");
  timing.span_samples = numbers_from(fields, "span_samples");
  timing.kernels_per_iteration = fields.integer("kernels_per_iteration");
  timing.fresh_iteration = fields.integer("fresh_iteration");
  timing.hit_time_cap = fields.boolean("hit_time_cap");
  timing.input_sets = fields.integer("input_sets");
  timing.method = fields.text("method");
  fields.no_others();
  return timing;
}

json FloorRecord::to_json() const {
  return {{"bytes", bytes},
          {"flops", flops},
          {"bandwidth_bytes_per_s", bandwidth_bytes_per_s},
          {"peak_flops_per_s", optional_number_json(peak_flops_per_s)},
          {"peak_basis", peak_basis},
          {"memory_us", memory_us},
          {"compute_us", compute_us},
          {"floor_us", floor_us},
          {"fraction_of_floor", fraction_of_floor},
          {"memory_margin", memory_margin},
          {"compute_margin", compute_margin},
          {"memory_violated", memory_violated},
          {"compute_violated", compute_violated},
          {"bytes_counted", bytes_counted},
          {"flops_counted", flops_counted}};
}

FloorRecord FloorRecord::from_json(const json& json_value, const std::string& where) {
  Fields fields(json_value, "evidence.floor", where);
  FloorRecord floor;
  floor.bytes = fields.number("bytes");
  floor.flops = fields.number("flops");
  floor.bandwidth_bytes_per_s = fields.number("bandwidth_bytes_per_s");
  fields.any("peak_flops_per_s");
  floor.peak_flops_per_s = fields.optional_number("peak_flops_per_s");
  floor.peak_basis = fields.text("peak_basis");
  floor.memory_us = fields.number("memory_us");
  floor.compute_us = fields.number("compute_us");
  floor.floor_us = fields.number("floor_us");
  floor.fraction_of_floor = fields.number("fraction_of_floor");
  floor.memory_margin = fields.number("memory_margin");
  floor.compute_margin = fields.number("compute_margin");
  floor.memory_violated = fields.boolean("memory_violated");
  floor.compute_violated = fields.boolean("compute_violated");
  floor.bytes_counted = fields.text("bytes_counted");
  floor.flops_counted = fields.text("flops_counted");
  fields.no_others();
  return floor;
}

json BaselinesRecord::to_json() const {
  if (error) {
    json json_value = {{"error", *error}};
    if (kind)
      json_value["kind"] = reference_failure_kind_name(*kind);
    return json_value;
  }
  json json_value = {{"eager_us", optional_number_json(eager_us)},
                     {"compile_us", optional_number_json(compile_us)},
                     {"torch_version", torch_version},
                     {"gpu", gpu},
                     {"shape", shape},
                     {"dtype", dtype},
                     {"cached", cached}};
  for (const auto& [key, value] :
       {std::pair{"eager_statistics", &eager_statistics},
        std::pair{"compile_statistics", &compile_statistics},
        std::pair{"eager_error", &eager_error}, std::pair{"compile_error", &compile_error}}) {
    if (*value)
      json_value[key] = **value;
  }
  return json_value;
}

BaselinesRecord BaselinesRecord::from_json(const json& json_value, const std::string& where) {
  Fields fields(json_value, "evidence.baselines", where);
  BaselinesRecord baselines;
  if (fields.has("error")) {
    baselines.error = fields.text("error");
    if (std::optional<std::string> kind = fields.optional_text("kind")) {
      baselines.kind = reference_failure_kind_named(*kind);
      if (!baselines.kind)
        fields.fail("field '" + fields.path("kind") + "'",
                    "is '" + *kind + "', not a reference failure kind");
    }
    fields.no_others();
    return baselines;
  }
  fields.any("eager_us");
  fields.any("compile_us");
  baselines.eager_us = fields.optional_number("eager_us");
  baselines.compile_us = fields.optional_number("compile_us");
  baselines.torch_version = fields.text("torch_version");
  baselines.gpu = fields.text("gpu");
  baselines.shape = fields.text("shape");
  baselines.dtype = fields.text("dtype");
  baselines.cached = fields.boolean("cached");
  baselines.eager_statistics = fields.optional_any("eager_statistics");
  baselines.compile_statistics = fields.optional_any("compile_statistics");
  baselines.eager_error = fields.optional_any("eager_error");
  baselines.compile_error = fields.optional_any("compile_error");
  fields.no_others();
  return baselines;
}

json EvidenceRecord::to_json() const {
  json json_value = json::object();
  if (bindings)
    json_value["bindings"] = *bindings;
  if (verification) {
    json checks = json::array();
    for (const CheckRecord& check : verification->checks)
      checks.push_back(check.to_json());
    json_value["checks"] = checks;
    json_value["seeds"] = verification->seeds;
    json_value["shapes"] = verification->shapes;
    if (verification->atol)
      json_value["atol"] = *verification->atol;
    if (verification->rtol)
      json_value["rtol"] = *verification->rtol;
    if (verification->max_abs_error)
      json_value["max_abs_error"] = *verification->max_abs_error;
    if (verification->max_rel_error)
      json_value["max_rel_error"] = *verification->max_rel_error;
    if (verification->mismatch_count)
      json_value["mismatch_count"] = *verification->mismatch_count;
  }
  if (timing_failure)
    json_value["timing_failure"] = *timing_failure;
  if (timing_guard_violations)
    json_value["timing_guard_violations"] = *timing_guard_violations;
  if (floor)
    json_value["floor"] = floor->to_json();
  if (baselines)
    json_value["baselines"] = baselines->to_json();
  if (source_bytes)
    json_value["source_bytes"] = *source_bytes;
  if (source_stored_bytes)
    json_value["source_stored_bytes"] = *source_stored_bytes;
  return json_value;
}

EvidenceRecord EvidenceRecord::from_json(const json& json_value, const std::string& where) {
  Fields fields(json_value, "evidence", where);
  EvidenceRecord evidence;
  if (fields.has("bindings"))
    evidence.bindings = fields.object("bindings");
  if (fields.has("checks")) {
    VerificationRecord verification;
    const json& checks = fields.array("checks");
    for (size_t i = 0; i < checks.size(); ++i) {
      verification.checks.push_back(
          CheckRecord::from_json(checks[i], element_path("evidence.checks", i), where));
    }
    const json& seeds = fields.array("seeds");
    for (size_t i = 0; i < seeds.size(); ++i) {
      if (!seeds[i].is_number_integer())
        fields.fail("field '" + element_path("evidence.seeds", i) + "'", "must be an integer");
      verification.seeds.push_back(seeds[i].get<int64_t>());
    }
    const json& shapes = fields.array("shapes");
    for (size_t i = 0; i < shapes.size(); ++i) {
      if (!shapes[i].is_string())
        fields.fail("field '" + element_path("evidence.shapes", i) + "'", "must be a string");
      verification.shapes.push_back(shapes[i].get<std::string>());
    }
    verification.atol = fields.optional_number("atol");
    verification.rtol = fields.optional_number("rtol");
    verification.max_abs_error = fields.optional_number("max_abs_error");
    verification.max_rel_error = fields.optional_number("max_rel_error");
    verification.mismatch_count = fields.optional_integer("mismatch_count");
    evidence.verification = std::move(verification);
  }
  if (fields.has("timing_failure"))
    evidence.timing_failure = fields.object("timing_failure");
  if (fields.has("timing_guard_violations"))
    evidence.timing_guard_violations = fields.array("timing_guard_violations");
  if (fields.has("floor"))
    evidence.floor = FloorRecord::from_json(fields.object("floor"), where);
  if (fields.has("baselines"))
    evidence.baselines = BaselinesRecord::from_json(fields.object("baselines"), where);
  evidence.source_bytes = fields.optional_integer("source_bytes");
  evidence.source_stored_bytes = fields.optional_integer("source_stored_bytes");
  fields.no_others();
  return evidence;
}

json RunEnvironment::to_json() const {
  json out = {{"gpu", gpu},
              {"gpu_arch", gpu_arch},
              {"driver", driver},
              {"cuda", cuda},
              {"cupti", cupti},
              {"clock_khz", clock_khz},
              {"memory_clock_khz", memory_clock_khz},
              {"torch", torch},
              {"reference_device", reference_device}};
  if (device)
    out["device"] = *device;
  return out;
}

RunEnvironment RunEnvironment::from_json(const json& json_value, const std::string& where) {
  Fields fields(json_value, "environment", where);
  RunEnvironment environment;
  environment.gpu = fields.text("gpu");
  environment.gpu_arch = fields.text("gpu_arch");
  environment.driver = fields.text("driver");
  environment.cuda = fields.text("cuda");
  environment.cupti = fields.text("cupti");
  environment.clock_khz = fields.integer("clock_khz");
  environment.memory_clock_khz = fields.integer("memory_clock_khz");
  environment.torch = fields.text("torch");
  environment.reference_device = fields.text("reference_device");
  environment.device = fields.optional_integer("device");
  fields.no_others();
  return environment;
}

json EvaluationRecord::to_json() const {
  json json_value = {{"version", kEvaluationRecordVersion},
                     {"verdict", verdict_name(verdict)},
                     {"reason", reason},
                     {"detail", detail},
                     {"evidence", evidence.to_json()},
                     {"stages", stages_to_json(stages)},
                     {"defines", defines},
                     {"arch", arch},
                     {"candidate_id", candidate_id},
                     {"evaluation_id", evaluation_id}};
  if (compile)
    json_value["compile"] = compile_summary_to_json(*compile);
  if (!gpu.empty()) {
    json_value["gpu"] = gpu;
    json_value["environment"] = environment.to_json();
    json_value["timing"] = timing ? timing->to_json() : json(nullptr);
    json_value["device_time_us"] = optional_number_json(device_time_us);
    json_value["speedup_eager"] = optional_number_json(speedup_eager);
    json_value["speedup_compile"] = optional_number_json(speedup_compile);
  }
  return json_value;
}

EvaluationRecord EvaluationRecord::from_json(const json& json_value, const std::string& where) {
  Fields fields(json_value, "", where);
  int64_t version = fields.integer("version");
  if (version != kEvaluationRecordVersion)
    fields.fail("field 'version'", "is " + std::to_string(version) +
                                       "; this kforge reads version " +
                                       std::to_string(kEvaluationRecordVersion));
  EvaluationRecord record;
  std::string verdict = fields.text("verdict");
  auto parsed = verdict_from_name(verdict);
  if (!parsed)
    fields.fail("field 'verdict'", "is '" + verdict + "', not a verdict");
  record.verdict = *parsed;
  record.reason = fields.text("reason");
  record.detail = fields.text("detail");
  record.evidence = EvidenceRecord::from_json(fields.object("evidence"), where);
  record.stages = stages_from_json(fields);
  const json& defines = fields.object("defines");
  for (const auto& [name, value] : defines.items()) {
    if (!value.is_number_integer())
      fields.fail("field 'defines." + name + "'", "must be an integer");
    record.defines[name] = value.get<int64_t>();
  }
  record.arch = fields.text("arch");
  record.candidate_id = fields.integer("candidate_id");
  record.evaluation_id = fields.integer("evaluation_id");
  if (fields.has("compile"))
    record.compile = compile_from_json(fields.object("compile"), where);
  if (fields.has("gpu")) {
    record.gpu = fields.text("gpu");
    record.environment = RunEnvironment::from_json(fields.object("environment"), where);
    fields.any("timing");
    if (fields.has_value("timing"))
      record.timing = TimingRecord::from_json(fields.object("timing"), where);
    for (const auto& [key, value] : {std::pair{"device_time_us", &record.device_time_us},
                                     std::pair{"speedup_eager", &record.speedup_eager},
                                     std::pair{"speedup_compile", &record.speedup_compile}}) {
      fields.any(key);
      *value = fields.optional_number(key);
    }
  }
  fields.no_others();
  return record;
}

}  // namespace kforge
