// Promotion: a verified candidate becomes a shipped kernel, kernels/<operation>/<variant>/,
// only when every rule holds. The rules, in the order they are checked (each refusal names one):
//   never_suspicious      no evaluation of the candidate was ever `suspicious`
//   current_harness       its latest evaluation is under the current harness version
//   correct               that evaluation's verdict is `correct`
//   every_seed_and_shape  its evidence holds a check for each seed and shape, all passed
//   speedup_threshold     its speedup over eager is at least the threshold
//   beats_shipped         it is faster than the variant shipped for the task and architecture
//                         by more than the timing spread: its p90 below the shipped one's p10
// A decision, promoted or refused, is recorded in the store's `promotions` table.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "datasets/store.hpp"
#include "harness/options/promotion_options.hpp"

namespace kforge {

class Workspace;

// The kernel library folder: `flag` when given, else config `library.dir` under the workspace.
std::filesystem::path library_root(const Workspace& workspace, const std::string& flag);

struct PromotionDecision {
  int64_t candidate_id = 0;
  std::optional<int64_t> evaluation_id;
  std::string task;
  std::string arch;
  bool promoted = false;
  std::string rule;                       // the rule that failed ("" when promoted)
  std::string reason;                     // one line for people
  std::filesystem::path library_path;     // the variant folder (promoted)
  std::optional<std::string> superseded;  // the variant that was shipped for the arch before

  nlohmann::json to_json() const;
};

class Promoter {
 public:
  Promoter(Store& store, PromotionOptions options);

  // Checks the rules for `candidate_id`; writes the files when they hold; records the
  // decision either way. An unknown candidate is an Error (there is nothing to record).
  PromotionDecision promote(int64_t candidate_id);

  // The candidate of each task (of `task` alone when given) whose latest evaluation is correct
  // under the current harness version with the best speedup over eager. Tasks without one are
  // left out; the result is ordered by task name.
  std::vector<int64_t> best_candidates(const std::optional<std::string>& task) const;

 private:
  Store& store_;
  PromotionOptions options_;
};

// Rewrites the table of shipped kernels in <library_root>/README.md (between its markers, the
// rest of the file kept) from the manifests under it: one line per variant and architecture,
// with the measured numbers.
void write_library_readme(const std::filesystem::path& library_root);

}  // namespace kforge
