#include "harness/nightly/night_report.hpp"

#include <array>
#include <utility>

#include "harness/util/error.hpp"
#include "harness/util/json_fields.hpp"
#include "harness/util/name_table.hpp"

namespace kforge::nightly {
namespace {

using nlohmann::json;

// Every outcome and step status, for the allowed lists of errors (their names are the store's).
constexpr NightOutcome kOutcomes[] = {NightOutcome::completed, NightOutcome::budget_reached,
                                      NightOutcome::interrupted, NightOutcome::failed};
constexpr StepStatus kStepStatuses[] = {StepStatus::done, StepStatus::skipped, StepStatus::failed,
                                        StepStatus::stopped};
constexpr std::array<std::pair<RegressionKind, std::string_view>, 2> kRegressionKinds{{
    {RegressionKind::verdict_changed, "verdict_changed"},
    {RegressionKind::slower, "slower"},
}};

json optional_number(const std::optional<double>& value) {
  return value ? json(*value) : json(nullptr);
}

std::optional<double> read_optional_number(const JsonFields& fields, const char* key) {
  if (!fields.has(key) || fields.raw(key).is_null())
    return std::nullopt;
  return fields.required<double>(key);
}

// Reads the array `key` of `fields`, each element through `read(element, where)`.
template <typename T, typename Read>
std::vector<T> read_list(const JsonFields& fields, const char* key, Read read) {
  const json& list = fields.raw(key);
  std::string where = fields.where() + ": " + key;
  if (!list.is_array())
    throw Error("expected a JSON array, got " + std::string(list.type_name()), where);
  std::vector<T> items;
  for (size_t index = 0; index < list.size(); ++index)
    items.push_back(read(JsonFields(list[index], where + "[" + std::to_string(index) + "]")));
  return items;
}

}  // namespace

NightStatus night_status_of(NightOutcome outcome) {
  switch (outcome) {
    case NightOutcome::completed:
      return NightStatus::kCompleted;
    case NightOutcome::budget_reached:
      return NightStatus::kBudgetReached;
    case NightOutcome::interrupted:
      return NightStatus::kInterrupted;
    case NightOutcome::failed:
      return NightStatus::kFailed;
  }
  return NightStatus::kFailed;
}

std::optional<NightOutcome> night_outcome_of(NightStatus status) {
  switch (status) {
    case NightStatus::kRunning:
      return std::nullopt;
    case NightStatus::kCompleted:
      return NightOutcome::completed;
    case NightStatus::kBudgetReached:
      return NightOutcome::budget_reached;
    case NightStatus::kInterrupted:
      return NightOutcome::interrupted;
    case NightStatus::kFailed:
      return NightOutcome::failed;
  }
  return std::nullopt;
}

const char* night_outcome_name(NightOutcome outcome) {
  return night_status_name(night_status_of(outcome)).data();  // the table holds literals
}

NightOutcome night_outcome_from_name(const std::string& name, const std::string& where) {
  const std::optional<NightStatus> status = night_status_named(name);
  if (std::optional<NightOutcome> outcome = status ? night_outcome_of(*status) : std::nullopt)
    return *outcome;
  std::string allowed;
  for (NightOutcome outcome : kOutcomes)
    allowed += (allowed.empty() ? "" : ", ") + std::string(night_outcome_name(outcome));
  throw Error("unknown night outcome '" + name + "' (one of: " + allowed + ")", where);
}

NightStepStatus night_step_status_of(StepStatus status) {
  switch (status) {
    case StepStatus::done:
      return NightStepStatus::kDone;
    case StepStatus::skipped:
      return NightStepStatus::kSkipped;
    case StepStatus::failed:
      return NightStepStatus::kFailed;
    case StepStatus::stopped:
      return NightStepStatus::kStopped;
  }
  return NightStepStatus::kFailed;
}

std::optional<StepStatus> step_status_of(NightStepStatus status) {
  switch (status) {
    case NightStepStatus::kRunning:
      return std::nullopt;
    case NightStepStatus::kDone:
      return StepStatus::done;
    case NightStepStatus::kSkipped:
      return StepStatus::skipped;
    case NightStepStatus::kFailed:
      return StepStatus::failed;
    case NightStepStatus::kStopped:
      return StepStatus::stopped;
  }
  return std::nullopt;
}

const char* step_status_name(StepStatus status) {
  return night_step_status_name(night_step_status_of(status)).data();  // the table holds literals
}

StepStatus step_status_from_name(const std::string& name, const std::string& where) {
  const std::optional<NightStepStatus> stored = night_step_status_named(name);
  if (std::optional<StepStatus> status = stored ? step_status_of(*stored) : std::nullopt)
    return *status;
  std::string allowed;
  for (StepStatus status : kStepStatuses)
    allowed += (allowed.empty() ? "" : ", ") + std::string(step_status_name(status));
  throw Error("unknown step status '" + name + "' (one of: " + allowed + ")", where);
}
const char* regression_kind_name(RegressionKind kind) {
  return name_in(kRegressionKinds, kind).data();  // the table holds literals
}
RegressionKind regression_kind_from_name(const std::string& name, const std::string& where) {
  return value_named_or_error(kRegressionKinds, name, "regression kind", where);
}

int night_exit_code(const NightReport& report) {
  if (report.outcome == NightOutcome::failed)
    return 2;
  return report.regressions.empty() ? 0 : 1;
}

json to_json(const NightReport& report) {
  json steps = json::array();
  for (const NightStep& step : report.steps)
    steps.push_back({{"name", step.name},
                     {"status", step_status_name(step.status)},
                     {"seconds", step.seconds},
                     {"detail", step.detail}});
  json environment = json::array();
  for (const EnvironmentChange& entry : report.environment)
    environment.push_back({{"key", entry.key}, {"before", entry.before}, {"after", entry.after}});
  json regressions = json::array();
  for (const Regression& regression : report.regressions)
    regressions.push_back({{"kernel", regression.kernel},
                           {"task", regression.task},
                           {"kind", regression_kind_name(regression.kind)},
                           {"verdict_before", regression.verdict_before},
                           {"verdict_after", regression.verdict_after},
                           {"median_us_before", optional_number(regression.median_us_before)},
                           {"median_us_after", optional_number(regression.median_us_after)},
                           {"spread_us", optional_number(regression.spread_us)}});
  json improvements = json::array();
  for (const Improvement& improvement : report.improvements)
    improvements.push_back({{"task", improvement.task},
                            {"kernel", improvement.kernel},
                            {"promoted", improvement.promoted},
                            {"median_us_before", optional_number(improvement.median_us_before)},
                            {"median_us_after", improvement.median_us_after},
                            {"speedup_eager", optional_number(improvement.speedup_eager)},
                            {"speedup_compile", optional_number(improvement.speedup_compile)}});
  json history = json::array();
  for (const TaskHistory& task : report.history) {
    json points = json::array();
    for (const SpeedupPoint& point : task.points)
      points.push_back({{"night", point.night},
                        {"speedup_eager", optional_number(point.speedup_eager)},
                        {"speedup_compile", optional_number(point.speedup_compile)}});
    history.push_back({{"task", task.task}, {"points", std::move(points)}});
  }
  json tuning = json::array();
  for (const TuningProgress& progress : report.tuning)
    tuning.push_back({{"kernel", progress.kernel},
                      {"arch", progress.arch},
                      {"evaluations", progress.evaluations},
                      {"default_us", optional_number(progress.default_us)},
                      {"best_us", optional_number(progress.best_us)}});
  json failures = json::array();
  for (const NightFailure& failure : report.failures)
    failures.push_back(
        {{"step", failure.step}, {"subject", failure.subject}, {"reason", failure.reason}});
  return {{"version", kNightReportVersion},
          {"night", report.night},
          {"started_at", report.started_at},
          {"finished_at", report.finished_at},
          {"outcome", night_outcome_name(report.outcome)},
          {"exit_code", night_exit_code(report)},
          {"steps", std::move(steps)},
          {"environment", std::move(environment)},
          {"regressions", std::move(regressions)},
          {"improvements", std::move(improvements)},
          {"history", std::move(history)},
          {"tuning", std::move(tuning)},
          {"failures", std::move(failures)},
          {"llm",
           {{"prompt_tokens", report.llm.prompt_tokens},
            {"completion_tokens", report.llm.completion_tokens},
            {"cost_usd", report.llm.cost_usd}}}};
}

NightReport night_report_from_json(const json& document, const std::string& where) {
  JsonFields fields(document, where);
  int version = fields.required<int>("version");
  if (version != kNightReportVersion)
    throw Error("night report version " + std::to_string(version) + ", this kforge reads " +
                    std::to_string(kNightReportVersion),
                where);
  NightReport report;
  report.night = fields.required<std::string>("night");
  report.started_at = fields.required<std::string>("started_at");
  report.finished_at = fields.required<std::string>("finished_at");
  report.outcome = night_outcome_from_name(fields.required<std::string>("outcome"), where);
  report.steps = read_list<NightStep>(fields, "steps", [](const JsonFields& step) {
    return NightStep{step.required<std::string>("name"),
                     step_status_from_name(step.required<std::string>("status"), step.where()),
                     step.required<double>("seconds"), step.required<std::string>("detail")};
  });
  report.environment =
      read_list<EnvironmentChange>(fields, "environment", [](const JsonFields& entry) {
        return EnvironmentChange{entry.required<std::string>("key"),
                                 entry.required<std::string>("before"),
                                 entry.required<std::string>("after")};
      });
  report.regressions = read_list<Regression>(fields, "regressions", [](const JsonFields& entry) {
    Regression regression;
    regression.kernel = entry.required<std::string>("kernel");
    regression.task = entry.required<std::string>("task");
    regression.kind = regression_kind_from_name(entry.required<std::string>("kind"), entry.where());
    regression.verdict_before = entry.required<std::string>("verdict_before");
    regression.verdict_after = entry.required<std::string>("verdict_after");
    regression.median_us_before = read_optional_number(entry, "median_us_before");
    regression.median_us_after = read_optional_number(entry, "median_us_after");
    regression.spread_us = read_optional_number(entry, "spread_us");
    return regression;
  });
  report.improvements = read_list<Improvement>(fields, "improvements", [](const JsonFields& entry) {
    Improvement improvement;
    improvement.task = entry.required<std::string>("task");
    improvement.kernel = entry.required<std::string>("kernel");
    improvement.promoted = entry.required<bool>("promoted");
    improvement.median_us_before = read_optional_number(entry, "median_us_before");
    improvement.median_us_after = entry.required<double>("median_us_after");
    improvement.speedup_eager = read_optional_number(entry, "speedup_eager");
    improvement.speedup_compile = read_optional_number(entry, "speedup_compile");
    return improvement;
  });
  report.history = read_list<TaskHistory>(fields, "history", [](const JsonFields& entry) {
    TaskHistory task;
    task.task = entry.required<std::string>("task");
    task.points = read_list<SpeedupPoint>(entry, "points", [](const JsonFields& point) {
      return SpeedupPoint{point.required<std::string>("night"),
                          read_optional_number(point, "speedup_eager"),
                          read_optional_number(point, "speedup_compile")};
    });
    return task;
  });
  report.tuning = read_list<TuningProgress>(fields, "tuning", [](const JsonFields& entry) {
    return TuningProgress{
        entry.required<std::string>("kernel"), entry.required<std::string>("arch"),
        entry.required<int64_t>("evaluations"), read_optional_number(entry, "default_us"),
        read_optional_number(entry, "best_us")};
  });
  report.failures = read_list<NightFailure>(fields, "failures", [](const JsonFields& entry) {
    return NightFailure{entry.required<std::string>("step"), entry.required<std::string>("subject"),
                        entry.required<std::string>("reason")};
  });
  JsonFields llm(fields.raw("llm"), where + ": llm");
  report.llm =
      LlmUsage{llm.required<int64_t>("prompt_tokens"), llm.required<int64_t>("completion_tokens"),
               llm.required<double>("cost_usd")};
  return report;
}

}  // namespace kforge::nightly
