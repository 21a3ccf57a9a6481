#include "datasets/lease_records.hpp"

namespace kforge {

std::string database_now(const Store& store) {
  return store.dialect() == sql::Dialect::kPostgres
             ? "CAST(extract(epoch FROM clock_timestamp()) AS DOUBLE PRECISION)"
             : "((julianday('now') - 2440587.5) * 86400.0)";
}

void add_leases(Store& store, int64_t run_id, const std::vector<int64_t>& task_ids) {
  auto insert = store.db().prepare(
      "INSERT INTO leases (run_id, task_id) VALUES (?, ?) ON CONFLICT (run_id, task_id) DO "
      "NOTHING");
  for (int64_t task_id : task_ids) {
    insert.bind(1, run_id).bind(2, task_id);
    insert.run();
    insert.reset();
  }
}

std::optional<LeaseClaim> claim_next_lease(Store& store, int64_t run_id, const std::string& node,
                                           double lease_seconds) {
  const std::string now = database_now(store);
  Store::Transaction transaction(store);
  // On PostgreSQL the row is locked until the commit, and rows other claims have locked are
  // passed over, not waited for; SQLite's BEGIN IMMEDIATE lets one claim run at a time.
  std::string select =
      "SELECT task_id, node, claims FROM leases WHERE run_id = ? AND status = 'open' "
      "AND (node IS NULL OR expires_at < " +
      now + ") ORDER BY task_id LIMIT 1";
  if (store.dialect() == sql::Dialect::kPostgres)
    select += " FOR UPDATE SKIP LOCKED";
  auto query = store.db().prepare(select);
  query.bind(1, run_id);
  if (!query.step())
    return std::nullopt;  // the transaction rolls back: nothing was written
  LeaseClaim claim{.task_id = query.integer(0),
                   .taken_from = query.optional_text(1),
                   .claims = query.integer(2) + 1};
  auto update = store.db().prepare("UPDATE leases SET node = ?, expires_at = " + now +
                                   " + ?, claims = ? WHERE run_id = ? AND task_id = ?");
  update.bind(1, node)
      .bind(2, lease_seconds)
      .bind(3, claim.claims)
      .bind(4, run_id)
      .bind(5, claim.task_id);
  update.run();
  transaction.commit();
  return claim;
}

bool renew_lease(Store& store, int64_t run_id, int64_t task_id, const std::string& node,
                 double lease_seconds) {
  auto update = store.db().prepare("UPDATE leases SET expires_at = " + database_now(store) +
                                   " + ? WHERE run_id = ? AND task_id = ? AND node = ? "
                                   "AND status = 'open'");
  update.bind(1, lease_seconds).bind(2, run_id).bind(3, task_id).bind(4, node);
  update.run();
  return store.db().changes() == 1;
}

bool release_lease(Store& store, int64_t run_id, int64_t task_id, const std::string& node,
                   bool done) {
  auto update = store.db().prepare(
      "UPDATE leases SET node = NULL, expires_at = NULL, status = ? "
      "WHERE run_id = ? AND task_id = ? AND node = ? AND status = 'open'");
  update.bind(1, done ? "done" : "open").bind(2, run_id).bind(3, task_id).bind(4, node);
  update.run();
  return store.db().changes() == 1;
}

int64_t free_leases(Store& store, int64_t run_id) {
  auto update = store.db().prepare(
      "UPDATE leases SET node = NULL, expires_at = NULL "
      "WHERE run_id = ? AND status = 'open' AND node IS NOT NULL");
  update.bind(1, run_id);
  update.run();
  return store.db().changes();
}

std::vector<LeaseRow> leases_of(const Store& store, int64_t run_id) {
  auto query = store.db().prepare(
      "SELECT task_id, node, expires_at, claims, status FROM leases WHERE run_id = ? "
      "ORDER BY task_id");
  query.bind(1, run_id);
  std::vector<LeaseRow> rows;
  while (query.step()) {
    rows.push_back({.run_id = run_id,
                    .task_id = query.integer(0),
                    .node = query.optional_text(1),
                    .expires_at = query.optional_real(2),
                    .claims = query.integer(3),
                    .status = query.text(4)});
  }
  return rows;
}

int64_t count_open_leases(const Store& store, int64_t run_id) {
  auto query =
      store.db().prepare("SELECT count(*) FROM leases WHERE run_id = ? AND status = 'open'");
  query.bind(1, run_id);
  query.step();
  return query.integer(0);
}

}  // namespace kforge
