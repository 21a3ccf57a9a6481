#include "datasets/promotion_records.hpp"

namespace kforge {

int64_t insert_promotion(Store& store, const PromotionRow& promotion) {
  auto insert = store.db().prepare(
      "INSERT INTO promotions (candidate_id, evaluation_id, task_id, arch, library_path, "
      "decision, reason) VALUES (?, ?, ?, ?, ?, ?, ?)");
  insert.bind(1, promotion.candidate_id)
      .bind(2, promotion.evaluation_id)
      .bind(3, promotion.task_id)
      .bind(4, promotion.arch)
      .bind(5, promotion.library_path)
      .bind(6, promotion.decision)
      .bind(7, promotion.reason);
  insert.run();
  return store.db().last_insert_id();
}

std::vector<PromotionRow> promotions_of(const Store& store, int64_t candidate_id) {
  auto query = store.db().prepare(
      "SELECT id, candidate_id, evaluation_id, task_id, arch, library_path, decision, reason, "
      "created_at FROM promotions WHERE candidate_id = ? ORDER BY id");
  query.bind(1, candidate_id);
  std::vector<PromotionRow> rows;
  while (query.step()) {
    rows.push_back(PromotionRow{.id = query.integer(0),
                                .candidate_id = query.integer(1),
                                .evaluation_id = query.optional_integer(2),
                                .task_id = query.integer(3),
                                .arch = query.optional_text(4),
                                .library_path = query.optional_text(5),
                                .decision = query.text(6),
                                .reason = query.text(7),
                                .created_at = query.text(8)});
  }
  return rows;
}

std::vector<int64_t> list_best_candidates(const Store& store, int64_t harness_version,
                                          const std::optional<std::string>& task) {
  // The latest evaluation of each candidate, kept when it is correct under this harness.
  auto query = store.db().prepare(
      std::string("SELECT t.name, c.id, e.speedup_eager FROM candidates c "
                  "JOIN tasks t ON t.id = c.task_id "
                  "JOIN evaluations e ON e.id = "
                  "(SELECT MAX(id) FROM evaluations WHERE candidate_id = c.id) "
                  "WHERE e.verdict = 'correct' AND e.harness_version = ? "
                  "AND e.speedup_eager IS NOT NULL ") +
      (task ? "AND t.name = ? " : "") + "ORDER BY t.name, e.speedup_eager DESC, c.id");
  query.bind(1, harness_version);
  if (task)
    query.bind(2, *task);
  std::vector<int64_t> best;
  std::string last_task;
  while (query.step()) {
    if (!best.empty() && query.text(0) == last_task)
      continue;
    last_task = query.text(0);
    best.push_back(query.integer(1));
  }
  return best;
}

std::vector<int64_t> list_ranked_candidates(const Store& store, int64_t harness_version,
                                            const std::string& task, int64_t limit) {
  auto query = store.db().prepare(
      "SELECT c.id FROM candidates c "
      "JOIN tasks t ON t.id = c.task_id "
      "JOIN evaluations e ON e.id = (SELECT MAX(id) FROM evaluations WHERE candidate_id = c.id) "
      "WHERE e.verdict = 'correct' AND e.harness_version = ? AND t.name = ? "
      "ORDER BY e.speedup_eager IS NULL, e.speedup_eager DESC, c.id LIMIT ?");
  query.bind(1, harness_version);
  query.bind(2, task);
  query.bind(3, limit);
  std::vector<int64_t> ranked;
  while (query.step())
    ranked.push_back(query.integer(0));
  return ranked;
}

}  // namespace kforge
