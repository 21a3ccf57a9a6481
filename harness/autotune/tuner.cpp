#include "harness/autotune/tuner.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>

#include "datasets/records.hpp"
#include "datasets/run_records.hpp"
#include "datasets/tuning_records.hpp"
#include "harness/autotune/define_space.hpp"
#include "harness/candidate/candidate_file.hpp"
#include "harness/evaluation/evaluation_service.hpp"
#include "harness/evaluation/evaluator.hpp"
#include "harness/evaluation/harness_version.hpp"
#include "harness/tuning/strategy.hpp"
#include "harness/util/error.hpp"
#include "harness/util/hash.hpp"

namespace kforge::autotune {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kCheckpointVersion = 1;

std::string defines_key(const std::map<std::string, int64_t>& defines) {
  return nlohmann::json(defines).dump();
}

// The points a run's checkpoint holds; an Error naming the run for another version or a
// malformed one.
std::vector<TunedPoint> checkpoint_points(const nlohmann::json& state, int64_t run_id) {
  try {
    if (state.at("version").get<int>() != kCheckpointVersion)
      throw Error("a tuning checkpoint of another version", "run " + std::to_string(run_id));
    std::vector<TunedPoint> points;
    for (const nlohmann::json& point : state.at("points"))
      points.push_back(TunedPoint::from_json(point));
    return points;
  } catch (const nlohmann::json::exception& error) {
    throw Error(std::string("malformed tuning checkpoint: ") + error.what(),
                "run " + std::to_string(run_id));
  }
}

// Everything one run works with: the space, the strategy, the cache, the report so far.
class TuningRun {
 public:
  TuningRun(Store& store, EvaluationService& service, const Task& task, TuneRequest request)
      : store_(store), service_(service), task_(task) {
    report_.request = std::move(request);
    if (!service_.runs())
      throw Error("nothing runs candidates here (" + service_.options().no_run_reason +
                      "), so no point could be timed; tuning needs a GPU",
                  "kforge tune");
    auto parsed = parse_candidate(report_.request.source, report_.request.file_name);
    if (!parsed.ok())
      throw Error(parsed.error().message(), report_.request.file_name);
    candidate_ = std::move(parsed).value();
    tuning::ConstrainedSpace declared = define_space(*candidate_, task_);
    report_.product_size = declared.product_size();
    space_ = std::make_unique<tuning::TuningSpace>(
        declared.materialise(report_.request.space_limit, report_.request.seed));
    report_.space_size = space_->size();
    report_.sampled = report_.space_size < report_.product_size &&
                      report_.space_size == report_.request.space_limit;
    report_.budget = budget();
    report_.gpu = service_.gpu_name().value_or("");
    try {
      report_.arch = choose_compile_arch(candidate_->plan, service_.arch());
    } catch (const PlanError&) {
      report_.arch = service_.arch();  // every point gets its arch_mismatch verdict
    }
    // The cache: every evaluation of this source already made here, keyed by define values.
    for (const SourceEvaluationRow& row :
         evaluations_of_source(store_, task_.id, sha256_hex(report_.request.source), report_.arch,
                               report_.gpu, kHarnessVersion)) {
      TunedPoint point;
      point.defines = row.defines.get<std::map<std::string, int64_t>>();
      point.verdict = verdict_from_name(row.verdict).value_or(Verdict::kCompiled);
      if (point.verdict == Verdict::kCorrect)
        point.time_us = row.device_time_us;
      point.speedup_eager = row.speedup_eager;
      point.candidate_id = row.candidate_id;
      point.evaluation_id = row.evaluation_id;
      point.cached = true;
      cache_.emplace(defines_key(point.defines), point);
    }
  }

  void start() {
    strategy_ = tuning::make_strategy(report_.request.strategy, *space_,
                                      {report_.request.seed, report_.budget});
    RunRow run{.kind = "tune",
               .request = report_.request.to_json(),
               .agent = "tune",
               .strategy = report_.request.strategy,
               .gpu = report_.gpu};
    report_.run_id = insert_run(store_, run);
  }

  void restore(int64_t run_id) {
    report_.run_id = run_id;
    std::optional<RunTaskRow> row = find_run_task(store_, run_id, task_.id);
    if (!row || row->state.empty()) {
      strategy_ = tuning::make_strategy(report_.request.strategy, *space_,
                                        {report_.request.seed, report_.budget});
    } else {
      report_.points = checkpoint_points(row->state, run_id);
      try {
        strategy_ = tuning::restore_strategy(row->state.at("strategy"), *space_);
      } catch (const nlohmann::json::exception& error) {
        throw Error(std::string("malformed tuning checkpoint: ") + error.what(),
                    "run " + std::to_string(run_id));
      }
    }
    reopen_run(store_, run_id);
  }

  TuneReport run(const TuneProgress& progress) {
    const auto started = Clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - started).count(); };
    report_.status = "completed";
    try {
      while (report_.points.size() < report_.budget) {
        if (report_.request.max_seconds > 0 && elapsed() >= report_.request.max_seconds)
          break;
        auto asking = Clock::now();
        std::optional<tuning::PointId> asked = strategy_->ask();
        const auto ask_time = Clock::now() - asking;
        if (!asked) {
          report_.status = "exhausted";
          break;
        }
        TunedPoint point = evaluate(*asked);
        auto telling = Clock::now();
        strategy_->tell(*asked, point.time_us);
        point.strategy_ms =
            std::chrono::duration<double, std::milli>(ask_time + (Clock::now() - telling)).count();
        report_.points.push_back(point);
        checkpoint();
        report_.seconds = elapsed();
        if (progress)
          progress(report_, report_.points.back());
      }
    } catch (const Error& failure) {
      // A broken tool ends the run as failed; its checkpoint still lets it resume.
      try {
        finish_run(store_, report_.run_id, "failed", {{"error", failure.what()}});
      } catch (const Error&) {
      }
      throw;
    }
    report_.seconds = elapsed();
    nlohmann::json summary = report_.to_json();
    summary.erase("points");
    finish_run(store_, report_.run_id, report_.status, summary);
    return report_;
  }

 private:
  size_t budget() const {
    const TuneRequest& request = report_.request;
    size_t budget = request.max_evals;
    if (budget == 0 && request.fraction > 0)
      budget = static_cast<size_t>(std::ceil(request.fraction * report_.space_size));
    if (budget == 0)
      budget = kDefaultMaxEvals;
    return std::max<size_t>(1, std::min(budget, report_.space_size));
  }

  TunedPoint evaluate(tuning::PointId id) {
    std::map<std::string, int64_t> defines = define_values(*space_, id);
    auto cached = cache_.find(defines_key(defines));
    if (cached != cache_.end()) {
      TunedPoint point = cached->second;
      point.step = report_.points.size();
      point.cached = true;
      return point;
    }
    EvaluationRequest request{.source = report_.request.source,
                              .file_name = report_.request.file_name,
                              .origin = "tune",
                              .run_id = report_.run_id,
                              .iteration = static_cast<int64_t>(report_.points.size())};
    for (const auto& [name, value] : defines)
      request.define_overrides[name] = std::to_string(value);
    EvaluationOutcome outcome = service_.evaluator().evaluate(task_, request);
    TunedPoint point;
    point.step = report_.points.size();
    point.defines = outcome.defines.empty() ? defines : outcome.defines;
    point.verdict = outcome.verdict;
    point.reason = outcome.reason;
    if (outcome.verdict == Verdict::kCorrect)
      point.time_us = outcome.device_time_us;
    point.speedup_eager = outcome.speedup_eager;
    point.candidate_id = outcome.candidate_id;
    point.evaluation_id = outcome.evaluation_id;
    TunedPoint stored = point;
    stored.reason.clear();
    cache_.emplace(defines_key(defines), stored);
    return point;
  }

  void checkpoint() {
    nlohmann::json points = nlohmann::json::array();
    for (const TunedPoint& point : report_.points)
      points.push_back(point.to_json());
    store_run_task(store_, {.run_id = report_.run_id,
                            .task_id = task_.id,
                            .state = {{"version", kCheckpointVersion},
                                      {"strategy", strategy_->state()},
                                      {"points", points}},
                            .status = "running"});
  }

  Store& store_;
  EvaluationService& service_;
  const Task& task_;
  std::optional<CandidateFile> candidate_;
  std::unique_ptr<tuning::TuningSpace> space_;
  std::unique_ptr<tuning::Strategy> strategy_;
  std::map<std::string, TunedPoint> cache_;
  TuneReport report_;
};

}  // namespace

nlohmann::json TuneRequest::to_json() const {
  return {{"task", task},
          {"source", source},
          {"file", file_name},
          {"strategy", strategy},
          {"seed", seed},
          {"max_evals", max_evals},
          {"fraction", fraction},
          {"max_seconds", max_seconds},
          {"space_limit", space_limit}};
}

TuneRequest TuneRequest::from_json(const nlohmann::json& json) {
  TuneRequest request;
  request.task = json.at("task").get<std::string>();
  request.source = json.at("source").get<std::string>();
  request.file_name = json.at("file").get<std::string>();
  request.strategy = json.at("strategy").get<std::string>();
  request.seed = json.at("seed").get<uint64_t>();
  request.max_evals = json.at("max_evals").get<size_t>();
  request.fraction = json.at("fraction").get<double>();
  request.max_seconds = json.at("max_seconds").get<double>();
  request.space_limit = json.at("space_limit").get<size_t>();
  return request;
}

nlohmann::json TunedPoint::to_json() const {
  auto optional = [](const std::optional<double>& value) {
    return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
  };
  return {{"step", step},
          {"defines", defines},
          {"verdict", verdict_name(verdict)},
          {"reason", reason},
          {"time_us", optional(time_us)},
          {"speedup_eager", optional(speedup_eager)},
          {"candidate_id", candidate_id},
          {"evaluation_id", evaluation_id},
          {"cached", cached},
          {"strategy_ms", strategy_ms}};
}

TunedPoint TunedPoint::from_json(const nlohmann::json& json) {
  TunedPoint point;
  point.step = json.at("step").get<size_t>();
  point.defines = json.at("defines").get<std::map<std::string, int64_t>>();
  std::optional<Verdict> verdict = verdict_from_name(json.at("verdict").get<std::string>());
  if (!verdict)
    throw Error("a tuning checkpoint names an unknown verdict", json.at("verdict").dump());
  point.verdict = *verdict;
  point.reason = json.at("reason").get<std::string>();
  if (!json.at("time_us").is_null())
    point.time_us = json.at("time_us").get<double>();
  if (!json.at("speedup_eager").is_null())
    point.speedup_eager = json.at("speedup_eager").get<double>();
  point.candidate_id = json.at("candidate_id").get<int64_t>();
  point.evaluation_id = json.at("evaluation_id").get<int64_t>();
  point.cached = json.at("cached").get<bool>();
  point.strategy_ms = json.value("strategy_ms", 0.0);
  return point;
}

std::vector<const TunedPoint*> TuneReport::ranked() const {
  std::vector<const TunedPoint*> correct;
  for (const TunedPoint& point : points)
    if (point.time_us)
      correct.push_back(&point);
  std::stable_sort(correct.begin(), correct.end(), [](const TunedPoint* a, const TunedPoint* b) {
    return *a->time_us < *b->time_us;
  });
  return correct;
}

size_t TuneReport::evaluated() const {
  return static_cast<size_t>(
      std::count_if(points.begin(), points.end(), [](const TunedPoint& p) { return !p.cached; }));
}

nlohmann::json TuneReport::to_json() const {
  nlohmann::json json = {
      {"run_id", run_id},
      {"task", request.task},
      {"file", request.file_name},
      {"strategy", request.strategy},
      {"seed", request.seed},
      {"arch", arch},
      {"gpu", gpu},
      {"space", {{"product", product_size}, {"points", space_size}, {"sampled", sampled}}},
      {"budget", budget},
      {"status", status},
      {"evaluated", evaluated()},
      {"cached", points.size() - evaluated()},
      {"seconds", seconds}};
  nlohmann::json all = nlohmann::json::array();
  for (const TunedPoint& point : points)
    all.push_back(point.to_json());
  json["points"] = all;
  std::vector<const TunedPoint*> best = ranked();
  json["best"] = best.empty() ? nlohmann::json(nullptr) : best.front()->to_json();
  nlohmann::json top = nlohmann::json::array();
  for (size_t i = 0; i < best.size() && i < 5; ++i)
    top.push_back(best[i]->to_json());
  json["top"] = top;
  return json;
}

TuneReport tune(Store& store, EvaluationService& service, const Task& task,
                const TuneRequest& request, const TuneProgress& progress) {
  TuningRun run(store, service, task, request);
  run.start();
  return run.run(progress);
}

TuneRequest tune_request_of_run(const Store& store, int64_t run_id) {
  std::optional<RunRow> run = find_run(store, run_id);
  if (!run || run->kind != "tune")
    throw Error("there is no tuning run " + std::to_string(run_id), "--resume");
  try {
    return TuneRequest::from_json(run->request);
  } catch (const nlohmann::json::exception& error) {
    throw Error(std::string("the tuning run's request is malformed: ") + error.what(),
                "run " + std::to_string(run_id));
  }
}

std::vector<TunedPoint> tuned_points_of_run(const Store& store, int64_t run_id) {
  tune_request_of_run(store, run_id);  // a tuning run, or an Error
  std::vector<TunedPoint> points;
  for (const RunTaskRow& row : run_tasks_of(store, run_id))
    if (!row.state.empty()) {
      std::vector<TunedPoint> more = checkpoint_points(row.state, run_id);
      points.insert(points.end(), more.begin(), more.end());
    }
  return points;
}

TuneReport resume(Store& store, EvaluationService& service, const Task& task, int64_t run_id,
                  const TuneProgress& progress) {
  TuningRun run(store, service, task, tune_request_of_run(store, run_id));
  run.restore(run_id);
  return run.run(progress);
}

}  // namespace kforge::autotune
