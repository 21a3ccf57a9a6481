#include "datasets/point_lease_records.hpp"

#include "datasets/lease_records.hpp"
#include "harness/util/error.hpp"

namespace kforge {

void lock_tuning_run(Store& store, int64_t run_id) {
  // NO KEY: the lock serialises the steps, but other nodes' inserts of candidates and
  // evaluations, whose foreign key only shares the run's row, are not held up by it.
  std::string select = "SELECT id FROM runs WHERE id = ?";
  if (store.dialect() == sql::Dialect::kPostgres)
    select += " FOR NO KEY UPDATE";
  auto query = store.db().prepare(select);
  query.bind(1, run_id);
  if (!query.step())
    throw Error("no run " + std::to_string(run_id) + " in the store", store.path().string());
}

bool add_point_lease(Store& store, int64_t run_id, int64_t point, const std::string& node,
                     double lease_seconds) {
  auto insert = store.db().prepare(
      "INSERT INTO point_leases (run_id, point, node, expires_at, claims) VALUES (?, ?, ?, " +
      database_now(store) + " + ?, 1) ON CONFLICT (run_id, point) DO NOTHING");
  insert.bind(1, run_id).bind(2, point).bind(3, node).bind(4, lease_seconds);
  insert.run();
  return store.db().changes() == 1;
}

std::optional<PointClaim> claim_expired_point_lease(Store& store, int64_t run_id,
                                                    const std::string& node, double lease_seconds) {
  const std::string now = database_now(store);
  Store::Transaction transaction(store);
  // As claim_next_lease: the row stays locked until the commit on PostgreSQL, and rows that
  // other claims have locked are passed over; SQLite's BEGIN IMMEDIATE runs one claim at a time.
  std::string select =
      "SELECT point, node, claims FROM point_leases WHERE run_id = ? AND status = 'open' "
      "AND (node IS NULL OR expires_at < " +
      now + ") ORDER BY point LIMIT 1";
  if (store.dialect() == sql::Dialect::kPostgres)
    select += " FOR UPDATE SKIP LOCKED";
  auto query = store.db().prepare(select);
  query.bind(1, run_id);
  if (!query.step())
    return std::nullopt;
  PointClaim claim{.point = query.integer(0),
                   .taken_from = query.optional_text(1),
                   .claims = query.integer(2) + 1};
  auto update = store.db().prepare("UPDATE point_leases SET node = ?, expires_at = " + now +
                                   " + ?, claims = ? WHERE run_id = ? AND point = ?");
  update.bind(1, node)
      .bind(2, lease_seconds)
      .bind(3, claim.claims)
      .bind(4, run_id)
      .bind(5, claim.point);
  update.run();
  transaction.commit();
  return claim;
}

bool renew_point_lease(Store& store, int64_t run_id, int64_t point, const std::string& node,
                       double lease_seconds) {
  auto update = store.db().prepare("UPDATE point_leases SET expires_at = " + database_now(store) +
                                   " + ? WHERE run_id = ? AND point = ? AND node = ? "
                                   "AND status = 'open'");
  update.bind(1, lease_seconds).bind(2, run_id).bind(3, point).bind(4, node);
  update.run();
  return store.db().changes() == 1;
}

bool release_point_lease(Store& store, int64_t run_id, int64_t point, const std::string& node,
                         bool done) {
  auto update = store.db().prepare(
      "UPDATE point_leases SET node = NULL, expires_at = NULL, status = ? "
      "WHERE run_id = ? AND point = ? AND node = ? AND status = 'open'");
  update.bind(1, done ? "done" : "open").bind(2, run_id).bind(3, point).bind(4, node);
  update.run();
  return store.db().changes() == 1;
}

int64_t free_point_leases(Store& store, int64_t run_id) {
  auto update = store.db().prepare(
      "UPDATE point_leases SET node = NULL, expires_at = NULL "
      "WHERE run_id = ? AND status = 'open' AND node IS NOT NULL");
  update.bind(1, run_id);
  update.run();
  return store.db().changes();
}

std::vector<PointLeaseRow> point_leases_of(const Store& store, int64_t run_id) {
  auto query = store.db().prepare(
      "SELECT point, node, expires_at, claims, status FROM point_leases WHERE run_id = ? "
      "ORDER BY point");
  query.bind(1, run_id);
  std::vector<PointLeaseRow> rows;
  while (query.step()) {
    rows.push_back({.run_id = run_id,
                    .point = query.integer(0),
                    .node = query.optional_text(1),
                    .expires_at = query.optional_real(2),
                    .claims = query.integer(3),
                    .status = query.text(4)});
  }
  return rows;
}

std::vector<int64_t> open_points(const Store& store, int64_t run_id) {
  auto query = store.db().prepare(
      "SELECT point FROM point_leases WHERE run_id = ? AND status = 'open' ORDER BY point");
  query.bind(1, run_id);
  std::vector<int64_t> points;
  while (query.step())
    points.push_back(query.integer(0));
  return points;
}

}  // namespace kforge
