// The promotions table: every decision `kforge promote` made, promoted or refused, with the
// rule and reason, and the query promotion starts from (the best candidate of each task).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "datasets/store.hpp"

namespace kforge {

struct PromotionRow {
  int64_t id = 0;
  int64_t candidate_id = 0;
  std::optional<int64_t> evaluation_id;
  int64_t task_id = 0;
  std::optional<std::string> arch;
  std::optional<std::string> library_path;  // the variant folder, when promoted
  std::string decision;                     // "promoted" or "refused"
  std::string reason;
  std::string created_at;
};

int64_t insert_promotion(Store& store, const PromotionRow& promotion);
std::vector<PromotionRow> promotions_of(const Store& store, int64_t candidate_id);

// The candidate of each task (of `task` alone when given) whose latest evaluation is correct
// under `harness_version` with the best speedup over eager (the lower id on a tie), ordered by
// task name. Tasks without one are left out.
std::vector<int64_t> list_best_candidates(const Store& store, int64_t harness_version,
                                          const std::optional<std::string>& task);

// The candidates of the task called `task` (any version) whose latest evaluation is correct
// under `harness_version`, the best speedup over eager first (then the lower id), at most
// `limit` of them.
std::vector<int64_t> list_ranked_candidates(const Store& store, int64_t harness_version,
                                            const std::string& task, int64_t limit);

}  // namespace kforge
