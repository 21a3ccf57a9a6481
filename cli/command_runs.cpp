// kforge runs [--limit N] [--json]: the runs in the store, newest first.
// kforge show CANDIDATE [--json]: one attempt: its source, its evaluations with their evidence,
// and the LLM exchange (the conversation) that produced it.
#include <cstdio>

#include "cli/commands.hpp"
#include "datasets/exchange_records.hpp"
#include "datasets/records.hpp"
#include "datasets/task_records.hpp"
#include "harness/evaluation/profile_report.hpp"
#include "harness/evaluation/stored_evaluation.hpp"
#include "harness/optimize/optimize_loop.hpp"
#include "harness/util/error.hpp"

namespace kforge::cli {
namespace {

nlohmann::json run_json(const RunRow& run) {
  return {{"id", run.id},
          {"kind", run.kind},
          {"status", run_status_name(run.status)},
          {"agent", run.agent ? nlohmann::json(*run.agent) : nlohmann::json()},
          {"strategy", run.strategy ? nlohmann::json(*run.strategy) : nlohmann::json()},
          {"model", run.model ? nlohmann::json(*run.model) : nlohmann::json()},
          {"gpu", run.gpu ? nlohmann::json(*run.gpu) : nlohmann::json()},
          {"tasks", run.request.value("tasks", nlohmann::json::array())},
          {"started_at", run.started_at},
          {"finished_at", run.finished_at},
          {"summary", run.summary ? *run.summary : nlohmann::json()}};
}

nlohmann::json exchange_json(const ExchangeRow& exchange) {
  nlohmann::json out = {
      {"id", exchange.id},
      {"provider", exchange.provider},
      {"model", exchange.model},
      {"ask_id", exchange.ask_id()},
      {"sample_index", exchange.sample_index},
      {"status", exchange.status},
      {"request", exchange.request},
      {"response", exchange.response ? nlohmann::json(*exchange.response) : nlohmann::json()},
      {"prompt_tokens", exchange.prompt_tokens.value_or(0)},
      {"completion_tokens", exchange.completion_tokens.value_or(0)},
      {"cost_usd", exchange.cost_usd.value_or(0)},
      {"latency_ms", exchange.latency_ms.value_or(0)},
      {"cache_hit", exchange.cache_hit},
      {"created_at", exchange.created_at}};
  if (exchange.error)
    out["error"] = *exchange.error;
  return out;
}

// The conversation as sent, from the stored request body (either protocol's shape).
void print_conversation(const nlohmann::json& request) {
  const nlohmann::json body = request.value("body", nlohmann::json::object());
  if (body.contains("system") && body["system"].is_string())
    print("--- system ---\n%s\n", body["system"].get<std::string>().c_str());
  for (const nlohmann::json& message : body.value("messages", nlohmann::json::array())) {
    std::string content = message.value("content", nlohmann::json("")).is_string()
                              ? message["content"].get<std::string>()
                              : message["content"].dump();
    print("--- %s ---\n%s\n", message.value("role", "?").c_str(), content.c_str());
  }
}

}  // namespace

void add_runs_command(CLI::App& parent, Context& context) {
  auto* command = parent.add_subcommand("runs", "list the runs in the store, newest first");
  auto limit = std::make_shared<size_t>(50);
  auto json = std::make_shared<bool>(false);
  command->add_option("--limit", *limit, "show at most this many runs");
  command->add_flag("--json", *json, "print one JSON object");
  command->callback([limit, json, &context] {
    Store& store = context.workspace().store();
    std::vector<RunRow> runs = list_runs(store, *limit);
    if (*json) {
      nlohmann::json out = nlohmann::json::array();
      for (const RunRow& run : runs) {
        out.push_back(run_json(run));
        out.back()["candidates"] = count_candidates_of_run(store, run.id);
      }
      return Context::print_json({{"runs", out}});
    }
    print("%5s  %-8s  %-11s  %-7s  %-8s  %10s  %-24s  %s\n", "run", "kind", "status", "agent",
          "strategy", "candidates", "started", "tasks");
    for (const RunRow& run : runs) {
      std::vector<std::string> tasks = run.request.value("tasks", std::vector<std::string>{});
      if (tasks.empty() && run.request.contains("task") && run.request["task"].is_string())
        tasks.push_back(run.request["task"].get<std::string>());
      std::string task_text;
      for (const std::string& task : tasks)
        task_text += (task_text.empty() ? "" : " ") + task;
      print("%5lld  %-8s  %-11s  %-7s  %-8s  %10lld  %-24s  %s\n", static_cast<long long>(run.id),
            run.kind.c_str(), std::string(run_status_name(run.status)).c_str(),
            run.agent.value_or("-").c_str(), run.strategy.value_or("-").c_str(),
            static_cast<long long>(count_candidates_of_run(store, run.id)), run.started_at.c_str(),
            task_text.c_str());
    }
  });
}

void add_show_command(CLI::App& parent, Context& context) {
  auto* command = parent.add_subcommand(
      "show", "show one candidate: source, evaluations with evidence, and its LLM conversation");
  auto id = std::make_shared<int64_t>(0);
  auto json = std::make_shared<bool>(false);
  command->add_option("candidate", *id, "candidate id")->required();
  command->add_flag("--json", *json, "print one JSON object");
  command->callback([id, json, &context] {
    Store& store = context.workspace().store();
    std::optional<CandidateRow> candidate = find_candidate(store, *id);
    if (!candidate)
      throw Error("no candidate " + std::to_string(*id) + " in the store", store.path().string());
    const std::vector<StoredEvaluation> evaluations = stored_evaluations_of(store, *candidate);
    std::optional<ExchangeRow> exchange;
    if (candidate->llm_exchange_id)
      exchange = find_exchange(store, *candidate->llm_exchange_id);
    std::string task = task_name_of_candidate(store, *id);
    // The task version the candidate was written for: its dtype chooses the profile's compute roof.
    std::optional<TaskRow> task_row = find_task(store, candidate->task_id);
    const Task task_version = Task::from_record(*task_row);

    if (*json) {
      nlohmann::json out = {
          {"id", candidate->id},
          {"task", task},
          {"run_id", candidate->run_id ? nlohmann::json(*candidate->run_id) : nlohmann::json()},
          {"parent_id",
           candidate->parent_id ? nlohmann::json(*candidate->parent_id) : nlohmann::json()},
          {"iteration",
           candidate->iteration ? nlohmann::json(*candidate->iteration) : nlohmann::json()},
          {"origin", candidate->origin},
          {"source", candidate->source},
          {"source_hash", candidate->source_hash},
          {"created_at", candidate->created_at}};
      out["evaluations"] = nlohmann::json::array();
      for (const StoredEvaluation& evaluation : evaluations) {
        const EvaluationRecord& record = evaluation.record;
        out["evaluations"].push_back({{"id", record.evaluation_id},
                                      {"verdict", verdict_name(record.verdict)},
                                      {"reason", record.reason},
                                      {"evidence", stored_evidence_json(record)},
                                      {"arch", record.arch},
                                      {"stages", stages_to_json(record.stages)},
                                      {"created_at", evaluation.created_at}});
        std::optional<ProfileReport> profile = profile_report_of(record, task_version);
        out["evaluations"].back()["profile"] = profile ? profile->to_json() : nlohmann::json();
      }
      out["exchange"] = exchange ? exchange_json(*exchange) : nlohmann::json();
      return Context::print_json(out);
    }
    print("candidate %lld for %s (origin %s", static_cast<long long>(candidate->id), task.c_str(),
          candidate->origin.c_str());
    if (candidate->run_id)
      print(", run %lld", static_cast<long long>(*candidate->run_id));
    if (candidate->iteration)
      print(", iteration %lld", static_cast<long long>(*candidate->iteration));
    if (candidate->parent_id)
      print(", parent %lld", static_cast<long long>(*candidate->parent_id));
    print(")\n");
    for (const StoredEvaluation& evaluation : evaluations) {
      const EvaluationRecord& record = evaluation.record;
      print("evaluation %lld: %s (%s) on %s\n", static_cast<long long>(record.evaluation_id),
            std::string(verdict_name(record.verdict)).c_str(), record.reason.c_str(),
            record.arch.c_str());
      print("evidence: %s\n", stored_evidence_json(record).dump().c_str());
      if (std::optional<ProfileReport> profile = profile_report_of(record, task_version))
        print("%s", render_profile_text(*profile).c_str());
    }
    print("=== source ===\n%s\n", candidate->source.c_str());
    if (exchange) {
      print("=== conversation (exchange %lld: %s %s, %s, %lld+%lld tokens, %lld ms%s) ===\n",
            static_cast<long long>(exchange->id), exchange->provider.c_str(),
            exchange->model.c_str(), exchange->status.c_str(),
            static_cast<long long>(exchange->prompt_tokens.value_or(0)),
            static_cast<long long>(exchange->completion_tokens.value_or(0)),
            static_cast<long long>(exchange->latency_ms.value_or(0)),
            exchange->cache_hit ? ", cache hit" : "");
      print_conversation(exchange->request);
      print("--- assistant (answer) ---\n%s\n", exchange->response.value_or("").c_str());
    }
  });
}

}  // namespace kforge::cli
