// The bookkeeping every strategy shares (internal to agents/): the record of asks and their
// feedback, budgets, progress and JSON state. A concrete strategy only decides which asks to
// make next from the records, so its decisions are reproducible from a restored state.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agents/strategy.hpp"

namespace kforge::agents {

class RecordedStrategy : public Strategy {
 public:
  RecordedStrategy(StrategySettings settings, std::shared_ptr<const PromptBuilder> prompts);

  std::vector<Ask> ask(double wall_seconds) final;
  void tell(const Feedback& feedback) final;
  bool finished() const final;
  std::optional<std::string> stop_reason() const final;
  StrategyProgress progress() const final;
  nlohmann::json state() const final;

  // Continues from state(): the records are replaced, and outstanding asks are re-issued.
  void restore(const nlohmann::json& state);

 protected:
  struct Record {
    std::string id;
    int64_t iteration = 0;
    int64_t sample_index = 0;
    std::string parent_id;
    std::optional<Feedback> feedback;
  };
  struct Planned {
    std::string id;
    int64_t iteration = 0;
    int64_t sample_index = 0;
    std::string parent_id;  // empty: a fresh first prompt
  };

  // Appends to `out` the asks to make now, at most `room` of them (room < 0: no limit).
  // Returns true once the strategy will never ask again (its iterations are done).
  virtual bool plan(int64_t room, std::vector<Planned>& out) = 0;

  const std::vector<Record>& records() const { return records_; }
  const Record* find(const std::string& id) const;
  bool all_told() const { return outstanding_ == 0 && reissue_.empty(); }
  const StrategySettings& settings() const { return settings_; }

 private:
  Ask build(const Planned& planned) const;
  std::optional<std::string> budget_exhausted(double wall_seconds) const;

  StrategySettings settings_;
  std::shared_ptr<const PromptBuilder> prompts_;
  std::vector<Record> records_;
  std::map<std::string, size_t> index_;
  int64_t outstanding_ = 0;
  std::vector<std::string> reissue_;  // outstanding at restore: to be returned by ask() again
  bool planning_done_ = false;
  std::optional<std::string> stop_reason_;
  double wall_seconds_ = 0;
};

std::unique_ptr<RecordedStrategy> make_sample_strategy(
    StrategySettings settings, std::shared_ptr<const PromptBuilder> prompts);
std::unique_ptr<RecordedStrategy> make_refine_strategy(
    StrategySettings settings, std::shared_ptr<const PromptBuilder> prompts);
std::unique_ptr<RecordedStrategy> make_beam_strategy(StrategySettings settings,
                                                     std::shared_ptr<const PromptBuilder> prompts);

}  // namespace kforge::agents
