#include "datasets/point_lease_records.hpp"

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
  return kPointLeases.add_held(store, run_id, point, node, lease_seconds);
}

std::optional<PointClaim> claim_expired_point_lease(Store& store, int64_t run_id,
                                                    const std::string& node, double lease_seconds) {
  std::optional<ClaimedLease> claim = kPointLeases.claim(store, run_id, node, lease_seconds);
  if (!claim)
    return std::nullopt;
  return PointClaim{
      .point = claim->item, .taken_from = std::move(claim->taken_from), .claims = claim->claims};
}

bool renew_point_lease(Store& store, int64_t run_id, int64_t point, const std::string& node,
                       double lease_seconds) {
  return kPointLeases.renew(store, run_id, point, node, lease_seconds);
}

bool release_point_lease(Store& store, int64_t run_id, int64_t point, const std::string& node,
                         bool done) {
  return kPointLeases.release(store, run_id, point, node,
                              done ? LeaseStatus::kDone : LeaseStatus::kOpen);
}

int64_t free_point_leases(Store& store, int64_t run_id) {
  return kPointLeases.free_held(store, run_id);
}

std::vector<PointLeaseRow> point_leases_of(const Store& store, int64_t run_id) {
  std::vector<PointLeaseRow> rows;
  for (Lease& lease : kPointLeases.leases_of(store, run_id))
    rows.push_back({.run_id = lease.run_id,
                    .point = lease.item,
                    .node = std::move(lease.node),
                    .expires_at = lease.expires_at,
                    .claims = lease.claims,
                    .status = lease.status});
  return rows;
}

std::vector<int64_t> open_points(const Store& store, int64_t run_id) {
  return kPointLeases.open_items(store, run_id);
}

}  // namespace kforge
