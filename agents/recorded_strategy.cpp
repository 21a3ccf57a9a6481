#include "agents/recorded_strategy.hpp"

#include <algorithm>
#include <cstdio>

#include "harness/util/error.hpp"

namespace kforge::agents {

using nlohmann::json;

namespace {

std::string number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%g", value);
  return buffer;
}

}  // namespace

RecordedStrategy::RecordedStrategy(StrategySettings settings,
                                   std::shared_ptr<const PromptBuilder> prompts)
    : settings_(std::move(settings)), prompts_(std::move(prompts)) {}

const RecordedStrategy::Record* RecordedStrategy::find(const std::string& id) const {
  auto found = index_.find(id);
  return found == index_.end() ? nullptr : &records_[found->second];
}

std::optional<std::string> RecordedStrategy::budget_exhausted(double wall_seconds) const {
  const Budgets& budgets = settings_.budgets;
  StrategyProgress now = progress();
  if (budgets.target_speedup > 0 && now.best_speedup && *now.best_speedup >= budgets.target_speedup)
    return "target speedup " + number(budgets.target_speedup) + "x reached by " + now.best_id;
  if (budgets.candidates > 0 && now.asked >= budgets.candidates)
    return "candidate budget " + std::to_string(budgets.candidates) + " spent";
  if (budgets.tokens > 0 && now.input_tokens + now.output_tokens >= budgets.tokens)
    return "token budget " + std::to_string(budgets.tokens) + " spent";
  if (budgets.cost_usd > 0 && now.cost_usd >= budgets.cost_usd)
    return "cost budget $" + number(budgets.cost_usd) + " spent";
  if (budgets.wall_seconds > 0 && wall_seconds >= budgets.wall_seconds)
    return "wall-time budget " + number(budgets.wall_seconds) + " s spent";
  return std::nullopt;
}

std::vector<Ask> RecordedStrategy::ask(double wall_seconds) {
  wall_seconds_ = std::max(wall_seconds_, wall_seconds);
  std::vector<Ask> asks;
  for (const std::string& id : reissue_) {
    const Record& record = records_[index_.at(id)];
    asks.push_back(build({record.id, record.iteration, record.sample_index, record.parent_id}));
  }
  reissue_.clear();
  if (stop_reason_)
    return asks;
  if (auto reason = budget_exhausted(wall_seconds_)) {
    stop_reason_ = reason;
    return asks;
  }
  int64_t room = -1;
  if (settings_.budgets.candidates > 0)
    room = settings_.budgets.candidates - static_cast<int64_t>(records_.size());
  std::vector<Planned> planned;
  planning_done_ = plan(room, planned);
  if (room >= 0 && static_cast<int64_t>(planned.size()) > room)
    planned.resize(static_cast<size_t>(room));
  for (const Planned& next : planned) {
    if (index_.contains(next.id))
      throw Error("strategy " + std::string(name()) + " planned the ask id '" + next.id +
                  "' twice");
    index_[next.id] = records_.size();
    records_.push_back({next.id, next.iteration, next.sample_index, next.parent_id, std::nullopt});
    ++outstanding_;
    asks.push_back(build(next));
  }
  if (planning_done_ && !stop_reason_)
    stop_reason_ = "iterations done";
  return asks;
}

Ask RecordedStrategy::build(const Planned& planned) const {
  Ask ask;
  ask.id = planned.id;
  ask.iteration = planned.iteration;
  ask.sample_index = planned.sample_index;
  ask.parent_id = planned.parent_id;
  // The attempts this one builds on, oldest first, skipping those without an answer.
  std::vector<const Record*> chain;
  for (const Record* at = find(planned.parent_id); at != nullptr; at = find(at->parent_id)) {
    if (at->feedback && !at->feedback->reply.empty())
      chain.push_back(at);
  }
  std::reverse(chain.begin(), chain.end());
  size_t shown = static_cast<size_t>(std::max<int64_t>(1, settings_.exchanges_shown));
  if (chain.size() > shown)
    chain.erase(chain.begin(), chain.end() - static_cast<std::ptrdiff_t>(shown));
  ask.conversation = prompts_->first();
  for (const Record* earlier : chain) {
    ask.conversation.messages.push_back({"assistant", earlier->feedback->reply});
    ask.conversation.messages.push_back({"user", prompts_->feedback(*earlier->feedback)});
  }
  return ask;
}

void RecordedStrategy::tell(const Feedback& feedback) {
  auto found = index_.find(feedback.ask_id);
  if (found == index_.end())
    throw Error("feedback for an ask that was never made", "ask " + feedback.ask_id);
  Record& record = records_[found->second];
  if (record.feedback)
    throw Error("feedback for an ask that was already told", "ask " + feedback.ask_id);
  record.feedback = feedback;
  --outstanding_;
  std::erase(reissue_, feedback.ask_id);
}

bool RecordedStrategy::finished() const {
  return outstanding_ == 0 && stop_reason_.has_value();
}

std::optional<std::string> RecordedStrategy::stop_reason() const {
  return stop_reason_;
}

StrategyProgress RecordedStrategy::progress() const {
  StrategyProgress progress;
  double best_score = -1;
  for (const Record& record : records_) {
    progress.asked += 1;
    progress.iteration = std::max(progress.iteration, record.iteration);
    if (!record.feedback) {
      progress.outstanding += 1;
      continue;
    }
    const Feedback& feedback = *record.feedback;
    progress.told += 1;
    progress.input_tokens += feedback.input_tokens;
    progress.output_tokens += feedback.output_tokens;
    progress.cost_usd += feedback.cost_usd;
    progress.verdicts[std::string(feedback.result_name())] += 1;
    if (feedback.judged(Verdict::kCorrect) && feedback.speedup &&
        (!progress.best_speedup || *feedback.speedup > *progress.best_speedup))
      progress.best_speedup = feedback.speedup;
    double score = attempt_score(feedback);
    if (score > best_score) {
      best_score = score;
      progress.best_id = record.id;
    }
  }
  return progress;
}

json RecordedStrategy::state() const {
  json records = json::array();
  for (const Record& record : records_) {
    json entry = {{"id", record.id},
                  {"iteration", record.iteration},
                  {"sample_index", record.sample_index},
                  {"parent_id", record.parent_id}};
    if (record.feedback)
      entry["feedback"] = record.feedback->to_json();
    records.push_back(entry);
  }
  json state = {{"format", "kforge-strategy-state-v1"},
                {"strategy", std::string(name())},
                {"settings", settings_.to_json()},
                {"wall_seconds", wall_seconds_},
                {"records", records}};
  if (stop_reason_)
    state["stop_reason"] = *stop_reason_;
  return state;
}

void RecordedStrategy::restore(const json& state) {
  records_.clear();
  index_.clear();
  reissue_.clear();
  outstanding_ = 0;
  wall_seconds_ = state.value("wall_seconds", 0.0);
  for (const json& entry : state.at("records")) {
    Record record;
    record.id = entry.at("id").get<std::string>();
    record.iteration = entry.at("iteration").get<int64_t>();
    record.sample_index = entry.at("sample_index").get<int64_t>();
    record.parent_id = entry.value("parent_id", "");
    if (entry.contains("feedback")) {
      record.feedback = Feedback::from_json(entry["feedback"]);
    } else {
      ++outstanding_;
      reissue_.push_back(record.id);
    }
    index_[record.id] = records_.size();
    records_.push_back(std::move(record));
  }
  stop_reason_.reset();
  if (state.contains("stop_reason"))
    stop_reason_ = state["stop_reason"].get<std::string>();
}

}  // namespace kforge::agents
