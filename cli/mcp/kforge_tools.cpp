#include "cli/mcp/kforge_tools.hpp"

#include <cctype>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>

#include "datasets/promotion_records.hpp"
#include "datasets/records.hpp"
#include "datasets/task_records.hpp"
#include "harness/autotune/tuner.hpp"
#include "harness/evaluation/evaluation_service.hpp"
#include "harness/evaluation/harness_version.hpp"
#include "harness/evaluation/profile_report.hpp"
#include "harness/evaluation/stored_evaluation.hpp"
#include "harness/library/promotion.hpp"
#include "harness/optimize/optimize_loop.hpp"
#include "harness/reference_runner.hpp"
#include "harness/task_import.hpp"
#include "harness/util/embedded.hpp"
#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "harness/util/json_text.hpp"
#include "harness/util/strings.hpp"
#include "harness/workspace.hpp"

namespace kforge::mcp {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// As `kforge eval`: the largest candidate file read at all (the source limit itself is the
// sandbox's, and a file over it gets its `too_large` verdict).
constexpr size_t kMaxCandidateFileBytes = size_t{256} << 20;
constexpr const char* kCandidateFormatUri = "kforge://docs/candidate-format";
constexpr const char* kTaskUriPrefix = "kforge://tasks/";
constexpr const char* kCandidateUriPrefix = "kforge://candidates/";

json object_schema(json properties, json required) {
  return {{"type", "object"},
          {"properties", std::move(properties)},
          {"required", std::move(required)},
          {"additionalProperties", false}};
}

// A result's schema: the properties a client may rely on; others may come too.
json result_schema(json properties, json required) {
  return {
      {"type", "object"}, {"properties", std::move(properties)}, {"required", std::move(required)}};
}

json text(const char* description) {
  return {{"type", "string"}, {"description", description}};
}

json id_schema(const char* description) {
  return {{"type", "integer"}, {"minimum", 1}, {"description", description}};
}

json optional_number = {{"type", {"number", "null"}}};
json optional_string = {{"type", {"string", "null"}}};
json optional_integer = {{"type", {"integer", "null"}}};

// What every tool says about one candidate: its latest evaluation, in one object.
json summary_schema() {
  return {{"type", "object"},
          {"properties",
           {{"candidate_id", {{"type", "integer"}}},
            {"task", {{"type", "string"}}},
            {"origin", {{"type", "string"}}},
            {"verdict", optional_string},
            {"reason", optional_string},
            {"evaluation_id", optional_integer},
            {"arch", optional_string},
            {"gpu", optional_string},
            {"harness_version", optional_integer},
            {"median_us", optional_number},
            {"p10_us", optional_number},
            {"p90_us", optional_number},
            {"speedup_eager", optional_number},
            {"speedup_compile", optional_number}}},
          {"required", {"candidate_id", "task", "verdict"}}};
}

json nullable(const std::optional<double>& value) {
  return value ? json(*value) : json();
}
json nullable(const std::optional<std::string>& value) {
  return value ? json(*value) : json();
}

json evaluation_summary(const EvaluationRow& evaluation) {
  json summary = {{"evaluation_id", evaluation.id},
                  {"verdict", evaluation.verdict},
                  {"reason", nullable(evaluation.reason)},
                  {"arch", nullable(evaluation.arch)},
                  {"gpu", nullable(evaluation.gpu)},
                  {"harness_version", evaluation.harness_version},
                  {"median_us", json()},
                  {"p10_us", json()},
                  {"p90_us", json()},
                  {"speedup_eager", nullable(evaluation.speedup_eager)},
                  {"speedup_compile", nullable(evaluation.speedup_compile)},
                  {"created_at", evaluation.created_at}};
  if (evaluation.timing) {
    const TimingRecord timing = TimingRecord::from_json(
        *evaluation.timing, "evaluation " + std::to_string(evaluation.id) + " timing");
    summary["median_us"] = timing.statistics.median_us;
    summary["p10_us"] = timing.statistics.p10_us;
    summary["p90_us"] = timing.statistics.p90_us;
  }
  return summary;
}

// The candidate and its latest evaluation; an unknown id is an Error naming it.
json candidate_summary(const Store& store, int64_t candidate_id) {
  std::optional<CandidateRow> candidate = find_candidate(store, candidate_id);
  if (!candidate)
    throw Error("no candidate " + std::to_string(candidate_id) + " in the store",
                store.path().string());
  std::vector<EvaluationRow> evaluations = evaluations_of(store, candidate_id);
  json summary =
      evaluations.empty() ? json{{"verdict", json()}} : evaluation_summary(evaluations.back());
  summary["candidate_id"] = candidate_id;
  summary["task"] = task_name_of_candidate(store, candidate_id);
  summary["origin"] = candidate->origin;
  summary["parent_id"] = candidate->parent_id ? json(*candidate->parent_id) : json();
  return summary;
}

std::string number_text(const json& value, const char* format) {
  if (!value.is_number())
    return "-";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value.get<double>());
  return buffer;
}

bool plain_name(const std::string& name) {
  if (name.empty() || name.size() > 100)
    return false;
  for (unsigned char c : name) {
    if (!std::isalnum(c) && c != '_' && c != '-')
      return false;
  }
  return true;
}

}  // namespace

KforgeTools::KforgeTools(Workspace& workspace, std::string arch,
                         std::vector<std::string> gpu_worker_command)
    : workspace_(workspace),
      arch_(std::move(arch)),
      gpu_worker_command_(std::move(gpu_worker_command)) {
  const json task_schema = {{"type", "object"}};
  tools_ = {
      {.name = "list_tasks",
       .title = "List tasks",
       .description = "The tasks in the store (the latest version of each): name, version, "
                      "description, tags, whether the reference output is degenerate.",
       .input_schema = object_schema({{"suite", text("only tasks of this suite, e.g. builtin")}},
                                     json::array()),
       .output_schema =
           result_schema({{"tasks", {{"type", "array"}, {"items", task_schema}}}}, {"tasks"}),
       .read_only = true,
       .call = [this](const json& arguments, CallContext&) { return list_tasks(arguments); }},
      {.name = "show_task",
       .title = "Show a task",
       .description = "One task: its PyTorch source, the signature a candidate binds to "
                      "(inputs, parameters, outputs with shapes and dtypes), the benchmark "
                      "shape and the check shapes. Analyses the task on first use.",
       .input_schema = object_schema({{"name", text("task name, e.g. builtin/softmax")}}, {"name"}),
       .output_schema = result_schema({{"task", task_schema}}, {"task"}),
       .read_only = true,
       .call = [this](const json& arguments, CallContext&) { return show_task(arguments); }},
      {.name = "import_task",
       .title = "Import a task",
       .description =
           "Adds a PyTorch program in the KernelBench format (class Model, get_inputs(), "
           "get_init_inputs(), integer size constants) as task SUITE/NAME, analysed by the "
           "reference runner. The same source again changes nothing; a changed one is a new "
           "version.",
       .input_schema = object_schema(
           {{"name",
             {{"type", "string"},
              {"minLength", 1},
              {"maxLength", 100},
              {"description", "the task's name within its suite: letters, digits, _ -"}}},
            {"suite", text("suite name (default mcp)")},
            {"source",
             {{"type", "string"}, {"minLength", 1}, {"description", "the Python program"}}}},
           {"name", "source"}),
       .output_schema = result_schema({{"name", {{"type", "string"}}},
                                       {"status", {{"type", "string"}}},
                                       {"version", {{"type", "integer"}}},
                                       {"degenerate", {{"type", "boolean"}}},
                                       {"degenerate_reason", {{"type", "string"}}}},
                                      {"name", "status", "version", "degenerate"}),
       .call = [this](const json& arguments, CallContext&) { return import_task(arguments); }},
      {.name = "evaluate",
       .title = "Evaluate a candidate",
       .description =
           "Judges one candidate kernel (a .cu file with its kforge:launch plan; read the "
           "resource kforge://docs/candidate-format) against a task: static checks, NVRTC "
           "compile in a sandbox, the plan bound at every shape, and where a GPU is: "
           "verification on several seeds and shapes, timing, baselines. Returns the verdict "
           "with its evidence, the timing, the speedups and the stored candidate id. A bad "
           "candidate is a verdict, not an error. Give `source` or `path` (relative paths are "
           "under the workspace).",
       .input_schema = object_schema(
           {{"task", text("task name, e.g. builtin/softmax")},
            {"source", text("the candidate's whole .cu text")},
            {"path", text("a .cu file to read instead of `source`")},
            {"defines",
             {{"type", "object"},
              {"additionalProperties", {{"type", "integer"}}},
              {"description", "define values to use instead of the plan's defaults"}}},
            {"arch", text("architecture to compile for, e.g. sm_90 (default: the GPU's)")},
            {"parent_id", id_schema("the stored candidate this one was derived from")}},
           {"task"}),
       .output_schema = {{"type", "object"},
                         {"properties",
                          {{"candidate_id", {{"type", "integer"}}},
                           {"evaluation_id", {{"type", "integer"}}},
                           {"run_id", {{"type", "integer"}}},
                           {"task", {{"type", "string"}}},
                           {"verdict", {{"type", "string"}}},
                           {"reason", {{"type", "string"}}},
                           {"detail", {{"type", "string"}}},
                           {"nothing_ran", {{"type", "boolean"}}},
                           {"median_us", optional_number},
                           {"speedup_eager", optional_number},
                           {"speedup_compile", optional_number},
                           {"profile_findings", {{"type", "array"}}},
                           {"record", {{"type", "object"}}}}},
                         {"required", {"candidate_id", "verdict", "record"}}},
       .call = [this](const json& arguments,
                      CallContext& context) { return evaluate(arguments, context); }},
      {.name = "compare",
       .title = "Compare two candidates",
       .description = "Two stored candidates side by side (latest evaluation of each): verdicts, "
                      "median device times, speedups, and which is faster by more than the "
                      "timing spread (its p90 below the other's p10).",
       .input_schema = object_schema(
           {{"a", id_schema("a candidate id")}, {"b", id_schema("another candidate id")}},
           {"a", "b"}),
       .output_schema = result_schema({{"a", summary_schema()},
                                       {"b", summary_schema()},
                                       {"faster", optional_integer},
                                       {"ratio", optional_number},
                                       {"beyond_spread", {{"type", "boolean"}}},
                                       {"note", {{"type", "string"}}}},
                                      {"a", "b", "faster", "note"}),
       .read_only = true,
       .call = [this](const json& arguments, CallContext&) { return compare(arguments); }},
      {.name = "best_candidates",
       .title = "Best candidates of a task",
       .description = "The candidates of a task whose latest evaluation is correct under the "
                      "current harness, the best speedup over eager first.",
       .input_schema =
           object_schema({{"task", text("task name")},
                          {"limit", {{"type", "integer"}, {"minimum", 1}, {"maximum", 100}}}},
                         {"task"}),
       .output_schema =
           result_schema({{"task", {{"type", "string"}}},
                          {"candidates", {{"type", "array"}, {"items", summary_schema()}}}},
                         {"task", "candidates"}),
       .read_only = true,
       .call = [this](const json& arguments, CallContext&) { return best_candidates(arguments); }},
      {.name = "candidate_history",
       .title = "A candidate's history",
       .description = "One stored candidate: every evaluation it had (oldest first) and its "
                      "ancestors through parent_id, each with its latest verdict.",
       .input_schema =
           object_schema({{"candidate_id", id_schema("candidate id")}}, {"candidate_id"}),
       .output_schema =
           result_schema({{"candidate", summary_schema()},
                          {"evaluations", {{"type", "array"}}},
                          {"ancestors", {{"type", "array"}, {"items", summary_schema()}}}},
                         {"candidate", "evaluations", "ancestors"}),
       .read_only = true,
       .call = [this](const json& arguments,
                      CallContext&) { return candidate_history(arguments); }},
      {.name = "promote",
       .title = "Promote a candidate",
       .description = "Ships a verified candidate into the workspace's kernel library when every "
                      "promotion rule holds (correct on every seed and shape under the current "
                      "harness, never suspicious, fast enough, beats the shipped variant beyond "
                      "the spread); otherwise says which rule failed. Both are recorded.",
       .input_schema =
           object_schema({{"candidate_id", id_schema("candidate id")},
                          {"min_speedup", {{"type", "number"}, {"minimum", 0}}},
                          {"variant", text("variant folder name (default candidate_<id>)")}},
                         {"candidate_id"}),
       .output_schema = result_schema({{"promoted", {{"type", "boolean"}}},
                                       {"rule", {{"type", "string"}}},
                                       {"reason", {{"type", "string"}}}},
                                      json::array()),
       .call = [this](const json& arguments, CallContext&) { return promote(arguments); }},
      {.name = "profile",
       .title = "Profile of a candidate",
       .description =
           "The hardware-counter profile of a candidate's latest evaluation, as the evaluation's "
           "profile stage stored it (counters per launch of its plan, taken after timing for a "
           "correct candidate on a GPU), with the roofline position and the findings kforge "
           "derives from them: each a kind, the numbers behind it and what to try. Where "
           "counters were unavailable (profiling restricted to administrators, MIG, ...) the "
           "profile says so and why.",
       .input_schema =
           object_schema({{"candidate_id", id_schema("candidate id")}}, {"candidate_id"}),
       .output_schema = result_schema({{"candidate_id", {{"type", "integer"}}},
                                       {"evaluation_id", {{"type", "integer"}}},
                                       {"verdict", {{"type", "string"}}},
                                       {"status", {{"type", "string"}}},
                                       {"profile", {{"type", "object"}}}},
                                      {"candidate_id", "evaluation_id", "status", "profile"}),
       .read_only = true,
       .call = [this](const json& arguments, CallContext&) { return profile(arguments); }},
      {.name = "tune",
       .title = "Tune a candidate's defines",
       .description =
           "Searches a stored candidate's define space (the `values` and `constraints` of its "
           "launch plan) through the same judge as evaluate: every point compiled, verified and "
           "timed, stored as a candidate of origin `tune`, points evaluated before taken from the "
           "store. `start` lists points to evaluate first, in order (your guesses: a define left "
           "out takes its default; a point outside the space is an error naming it, and nothing "
           "is run). Returns the best correct point and the run (`kforge tune --resume RUN` "
           "continues it).",
       .input_schema = object_schema(
           {{"candidate_id", id_schema("candidate id")},
            {"max_evals", {{"type", "integer"}, {"minimum", 1}, {"maximum", 10000}}},
            {"strategy", text("search strategy (default auto): random, local, genetic, "
                              "annealing, tpe, auto")},
            {"seed", {{"type", "integer"}, {"minimum", 0}}},
            {"arch", text("architecture to compile for, e.g. sm_90 (default: the GPU's)")},
            {"start",
             {{"type", "array"},
              {"items", {{"type", "object"}, {"additionalProperties", {{"type", "integer"}}}}},
              {"description",
               "points evaluated first, in order, each define values by name, e.g. "
               "[{\"BLOCK\": 256, \"ITEMS\": 4}]; they count towards max_evals"}}}},
           {"candidate_id"}),
       .output_schema = result_schema({{"run_id", {{"type", "integer"}}},
                                       {"task", {{"type", "string"}}},
                                       {"status", {{"type", "string"}}},
                                       {"points", {{"type", "array"}}},
                                       {"best", {{"type", {"object", "null"}}}}},
                                      {"run_id", "task", "points", "best"}),
       .call = [this](const json& arguments,
                      CallContext& context) { return tune(arguments, context); }},
  };
}

KforgeTools::~KforgeTools() = default;

EvaluationService& KforgeTools::service(const std::string& arch) {
  const std::string wanted = arch.empty() ? arch_ : arch;
  if (!service_ || wanted != service_arch_) {
    service_.reset();
    service_ = std::make_unique<EvaluationService>(
        workspace_,
        EvaluationServiceOptions{
            .arch = wanted, .compile_workers = 1, .gpu_worker_command = gpu_worker_command_});
    service_arch_ = wanted;
  }
  return *service_;
}

ToolResult KforgeTools::list_tasks(const json& arguments) {
  Store& store = workspace_.store();
  record_builtin_tasks(store);
  std::optional<std::string> suite;
  if (arguments.contains("suite"))
    suite = arguments["suite"].get<std::string>();
  json tasks = json::array();
  for (const TaskRow& row : list_latest_tasks(store, suite))
    tasks.push_back(Task::from_record(row).to_json(false));
  return {.structured = {{"tasks", tasks}}};
}

ToolResult KforgeTools::show_task(const json& arguments) {
  Task task = load_task(workspace_, arguments["name"].get<std::string>());
  return {.structured = {{"task", task.to_json(true)}}};
}

ToolResult KforgeTools::import_task(const json& arguments) {
  const std::string name = arguments["name"].get<std::string>();
  const std::string suite = arguments.value("suite", std::string("mcp"));
  if (!plain_name(name))
    return ToolResult::error("a task name is letters, digits, '_' and '-' only, not '" + name +
                             "'");
  if (!valid_suite_name(suite) || suite == kBuiltinSuite)
    return ToolResult::error("'" + suite + "' cannot be a suite name here");
  // Each imported program keeps a file of its own, the task's origin path, which
  // `tasks import` of that folder would read the same way.
  const fs::path folder = workspace_.cache_dir("mcp") / "imports" / suite / name;
  fs::create_directories(folder);
  files::write_atomic(folder / (name + ".py"), arguments["source"].get<std::string>());
  ReferenceRunner runner = ReferenceRunner::for_workspace(workspace_);
  std::vector<ImportLine> lines = import_tasks(workspace_.store(), runner, folder, suite);
  if (lines.size() != 1)
    throw Error("expected one task file, found " + std::to_string(lines.size()), folder.string());
  const ImportLine& line = lines.front();
  if (line.status == ImportStatus::kFailed)
    return ToolResult::error("import of " + line.name + " failed: " + line.detail);
  json result = {{"name", line.name},
                 {"status", import_status_name(line.status)},
                 {"version", line.version},
                 {"degenerate", line.degenerate}};
  if (!line.detail.empty())
    result["degenerate_reason"] = line.detail;
  return {.structured = result};
}

ToolResult KforgeTools::evaluate(const json& arguments, CallContext& context) {
  const bool has_source = arguments.contains("source");
  if (has_source == arguments.contains("path"))
    return ToolResult::error("give the candidate as `source` (its text) or `path`, one of them");
  std::string source, file_name = "candidate.cu", file = "(source text)";
  if (has_source) {
    source = arguments["source"].get<std::string>();
  } else {
    fs::path path = arguments["path"].get<std::string>();
    if (path.is_relative())
      path = workspace_.root() / path;
    source = files::read(path, kMaxCandidateFileBytes);
    file_name = strings::to_valid_utf8(path.filename().string());
    file = strings::to_valid_utf8(path.string());
  }
  std::map<std::string, std::string> defines;
  const json given_defines = arguments.value("defines", json::object());
  for (const auto& [name, value] : given_defines.items())
    defines[name] = std::to_string(value.get<int64_t>());
  std::optional<int64_t> parent;
  if (arguments.contains("parent_id")) {
    parent = arguments["parent_id"].get<int64_t>();
    if (!find_candidate(workspace_.store(), *parent))
      return ToolResult::error("no candidate " + std::to_string(*parent) +
                               " in the store (parent_id)");
  }
  Task task = load_task(workspace_, arguments["task"].get<std::string>());
  EvaluationService& evaluation_service = service(arguments.value("arch", std::string()));

  const json client = context.client_info();
  RunRow run{.kind = "eval",
             .request = {{"file", file},
                         {"task", task.name},
                         {"defines", defines},
                         {"arch", evaluation_service.arch()},
                         {"client", client}},
             .agent = "mcp:" + client.value("name", std::string("unnamed client"))};
  EvaluationRequest request{.source = std::move(source),
                            .file_name = file_name,
                            .define_overrides = defines,
                            .origin = "mcp",
                            .parent_id = parent};
  const double stages = 2;
  RunEvaluationHooks hooks{
      .on_stage =
          [&](const std::string& stage) {
            if (stage == "compile")
              context.progress(0, stages, "compiling and binding the candidate");
            else
              context.progress(1, stages,
                               evaluation_service.runs() ? "verifying and timing on the GPU"
                                                         : "storing (no GPU: nothing runs)");
          },
      .cancelled = [&] { return context.cancelled(); }};
  RunEvaluation evaluation =
      evaluation_service.evaluate_in_run(task, std::move(request), std::move(run), hooks);
  if (!evaluation.outcome)
    return ToolResult::error("cancelled before the GPU stages; nothing was stored");
  context.progress(stages, stages, "judged");
  const EvaluationOutcome& outcome = *evaluation.outcome;
  std::optional<double> median;
  if (outcome.timing)
    median = outcome.timing->statistics.median_us;
  json result = {{"candidate_id", outcome.candidate_id},
                 {"evaluation_id", outcome.evaluation_id},
                 {"run_id", evaluation.run_id},
                 {"task", task.name},
                 {"verdict", verdict_name(outcome.verdict)},
                 {"reason", outcome.reason},
                 {"detail", outcome.detail},
                 {"nothing_ran", outcome.verdict == Verdict::kCompiled},
                 {"median_us", nullable(median)},
                 {"speedup_eager", nullable(outcome.speedup_eager)},
                 {"speedup_compile", nullable(outcome.speedup_compile)},
                 {"profile_findings", json::array()},
                 {"record", outcome.to_json()}};
  // The profile's findings (most time to gain first, per launch), where counters were collected.
  if (std::optional<ProfileReport> report = profile_report_of(outcome, task)) {
    for (const Diagnosis& diagnosis : report->diagnoses) {
      for (const Finding& finding : diagnosis.findings) {
        result["profile_findings"].push_back(finding.to_json());
        result["profile_findings"].back()["kernel"] = diagnosis.kernel;
      }
    }
  }
  std::string line = "verdict " + std::string(verdict_name(outcome.verdict)) + " (" +
                     outcome.reason + "): candidate " + std::to_string(outcome.candidate_id) +
                     ", median " + number_text(result["median_us"], "%.3f") + " us, speedup " +
                     number_text(result["speedup_eager"], "%.2fx") + " over eager";
  return {.structured = result, .text = line + "\n" + json_text(result, 2)};
}

ToolResult KforgeTools::compare(const json& arguments) {
  const Store& store = workspace_.store();
  json a = candidate_summary(store, arguments["a"].get<int64_t>());
  json b = candidate_summary(store, arguments["b"].get<int64_t>());
  json result = {
      {"a", a}, {"b", b}, {"faster", json()}, {"ratio", json()}, {"beyond_spread", false}};
  if (a["task"] != b["task"]) {
    result["note"] = "the candidates are for different tasks: their times do not compare";
  } else if (a["verdict"] != "correct" || b["verdict"] != "correct" ||
             !a["median_us"].is_number() || !b["median_us"].is_number()) {
    result["note"] = "only two correct, timed candidates compare by speed";
  } else {
    const bool a_first = a["median_us"].get<double>() <= b["median_us"].get<double>();
    const json& fast = a_first ? a : b;
    const json& slow = a_first ? b : a;
    result["faster"] = fast["candidate_id"];
    result["ratio"] = slow["median_us"].get<double>() / fast["median_us"].get<double>();
    const bool beyond = fast["p90_us"].is_number() && slow["p10_us"].is_number() &&
                        fast["p90_us"].get<double>() < slow["p10_us"].get<double>();
    result["beyond_spread"] = beyond;
    result["note"] = "candidate " + fast["candidate_id"].dump() + " is " +
                     number_text(result["ratio"], "%.3f") + "x faster by median" +
                     (beyond ? ", beyond the timing spread" : ", within the timing spread");
  }
  return {.structured = result};
}

ToolResult KforgeTools::best_candidates(const json& arguments) {
  const Store& store = workspace_.store();
  const std::string task = arguments["task"].get<std::string>();
  if (!find_latest_task(store, task))
    return ToolResult::error("no task '" + task + "' in the store (list_tasks names them)");
  json candidates = json::array();
  for (int64_t id :
       list_ranked_candidates(store, kHarnessVersion, task, arguments.value("limit", 10)))
    candidates.push_back(candidate_summary(store, id));
  return {.structured = {{"task", task}, {"candidates", candidates}}};
}

ToolResult KforgeTools::candidate_history(const json& arguments) {
  const Store& store = workspace_.store();
  const int64_t id = arguments["candidate_id"].get<int64_t>();
  json candidate = candidate_summary(store, id);
  json evaluations = json::array();
  for (const EvaluationRow& evaluation : evaluations_of(store, id))
    evaluations.push_back(evaluation_summary(evaluation));
  json ancestors = json::array();
  json parent = candidate["parent_id"];
  // A parent is stored before its child, so the chain ends; the bound guards a damaged store.
  while (parent.is_number_integer() && ancestors.size() < 1000) {
    ancestors.push_back(candidate_summary(store, parent.get<int64_t>()));
    parent = ancestors.back()["parent_id"];
  }
  return {.structured = {
              {"candidate", candidate}, {"evaluations", evaluations}, {"ancestors", ancestors}}};
}

ToolResult KforgeTools::promote(const json& arguments) {
  PromotionOptions options{.library_root = library_root(workspace_, ""),
                           .min_speedup_eager = arguments.value(
                               "min_speedup", workspace_.config().real("promote.min_speedup")),
                           .variant = arguments.value("variant", std::string())};
  Promoter promoter(workspace_.store(), options);
  PromotionDecision decision = promoter.promote(arguments["candidate_id"].get<int64_t>());
  std::string line = decision.promoted
                         ? "promoted candidate " + std::to_string(decision.candidate_id) + " to " +
                               decision.library_path.string()
                         : "refused candidate " + std::to_string(decision.candidate_id) +
                               ": rule " + decision.rule + ": " + decision.reason;
  return {.structured = decision.to_json(), .text = line + "\n" + json_text(decision.to_json(), 2)};
}

ToolResult KforgeTools::tune(const json& arguments, CallContext& context) {
  Store& store = workspace_.store();
  const int64_t id = arguments["candidate_id"].get<int64_t>();
  std::optional<CandidateRow> candidate = find_candidate(store, id);
  if (!candidate)
    return ToolResult::error("no candidate " + std::to_string(id) + " in the store");
  Task task = load_task(workspace_, task_name_of_candidate(store, id));
  autotune::TuneRequest request{.task = task.name,
                                .source = candidate->source,
                                .file_name = "candidate_" + std::to_string(id) + ".cu",
                                .strategy = arguments.value("strategy", std::string("auto")),
                                .seed = arguments.value("seed", uint64_t{0}),
                                .max_evals = arguments.value("max_evals", size_t{20})};
  if (arguments.contains("start"))
    request.start = arguments["start"].get<std::vector<std::map<std::string, int64_t>>>();
  EvaluationService& evaluation_service = service(arguments.value("arch", std::string()));
  // Cancellation is honoured between points: every point told so far is stored, and the run
  // stays resumable.
  auto progress = [&](const autotune::TuneReport& so_far, const autotune::TunedPoint& latest) {
    context.progress(static_cast<double>(so_far.points.size()), static_cast<double>(so_far.budget),
                     "point " + std::to_string(latest.step + 1) + ": " +
                         std::string(verdict_name(latest.verdict)));
    if (context.cancelled())
      throw Error("cancelled after " + std::to_string(so_far.points.size()) +
                      " points; `kforge tune --resume " + std::to_string(so_far.run_id) +
                      "` continues it",
                  "tune");
  };
  autotune::TuneReport report = autotune::tune(store, evaluation_service, task, request, progress);
  std::string line = std::to_string(report.points.size()) + " points of " + task.name +
                     " tuned in run " + std::to_string(report.run_id);
  if (const std::vector<const autotune::TunedPoint*> ranked = report.ranked(); !ranked.empty())
    line += "; best " + json(ranked.front()->defines).dump() + " at " +
            number_text(json(*ranked.front()->time_us), "%.3f") + " us";
  else
    line += "; no correct point";
  return {.structured = report.to_json(), .text = line};
}

ToolResult KforgeTools::profile(const json& arguments) {
  const Store& store = workspace_.store();
  const int64_t id = arguments["candidate_id"].get<int64_t>();
  std::optional<CandidateRow> candidate = find_candidate(store, id);
  if (!candidate)
    return ToolResult::error("no candidate " + std::to_string(id) + " in the store");
  std::vector<StoredEvaluation> evaluations = stored_evaluations_of(store, *candidate);
  if (evaluations.empty())
    return ToolResult::error("candidate " + std::to_string(id) + " has no evaluation");
  const EvaluationRecord& record = evaluations.back().record;
  std::optional<TaskRow> task = find_task(store, candidate->task_id);
  if (!task)
    return ToolResult::error("candidate " + std::to_string(id) + " names no stored task");
  std::optional<ProfileReport> report = profile_report_of(record, Task::from_record(*task));
  if (!report)
    return ToolResult::error(
        "candidate " + std::to_string(id) + " was not profiled: its latest evaluation (" +
        std::to_string(record.evaluation_id) + ") is " + std::string(verdict_name(record.verdict)) +
        (record.gpu.empty() ? " and ran on no GPU" : "") +
        "; the profile stage runs after timing, on a GPU, for correct candidates "
        "(profile.enabled, profile.only_correct)");
  json result = {{"candidate_id", id},
                 {"evaluation_id", record.evaluation_id},
                 {"verdict", verdict_name(record.verdict)},
                 {"status", profile_status_name(report->counters.status)},
                 {"profile", report->to_json()}};
  return {.structured = result,
          .text = "candidate " + std::to_string(id) + ", evaluation " +
                  std::to_string(record.evaluation_id) + "\n" + render_profile_text(*report)};
}

std::vector<Resource> KforgeTools::resources() {
  std::vector<Resource> resources = {
      {kCandidateFormatUri, "candidate-format.md",
       "How a candidate is written: one .cu file of device code with its kforge:launch plan",
       "text/markdown"}};
  Store& store = workspace_.store();
  record_builtin_tasks(store);
  for (const TaskRow& row : list_latest_tasks(store, std::nullopt)) {
    resources.push_back({kTaskUriPrefix + row.name, row.name + ".py",
                         "the PyTorch program of task " + row.name, "text/x-python"});
  }
  return resources;
}

std::optional<ResourceText> KforgeTools::read_resource(const std::string& uri) {
  if (uri == kCandidateFormatUri) {
    std::optional<std::string_view> document = embedded::find("docs/candidate-format.md");
    if (!document)
      throw Error("the candidate format document is not in this binary", uri);
    return ResourceText{uri, "text/markdown", std::string(*document)};
  }
  Store& store = workspace_.store();
  if (uri.starts_with(kTaskUriPrefix)) {
    record_builtin_tasks(store);
    std::optional<TaskRow> row = find_latest_task(store, uri.substr(strlen(kTaskUriPrefix)));
    if (!row)
      return std::nullopt;
    return ResourceText{uri, "text/x-python", row->source};
  }
  if (uri.starts_with(kCandidateUriPrefix)) {
    const std::string digits = uri.substr(strlen(kCandidateUriPrefix));
    if (digits.empty() || digits.size() > 18 ||
        digits.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    std::optional<CandidateRow> candidate = find_candidate(store, std::stoll(digits));
    if (!candidate)
      return std::nullopt;
    return ResourceText{uri, "text/x-cuda", candidate->source};
  }
  return std::nullopt;
}

}  // namespace kforge::mcp
