#include "datasets/lease_records.hpp"

namespace kforge {

void add_leases(Store& store, int64_t run_id, const std::vector<int64_t>& task_ids) {
  kTaskLeases.add_free(store, run_id, task_ids);
}

std::optional<LeaseClaim> claim_next_lease(Store& store, int64_t run_id, const std::string& node,
                                           double lease_seconds) {
  std::optional<ClaimedLease> claim = kTaskLeases.claim(store, run_id, node, lease_seconds);
  if (!claim)
    return std::nullopt;
  return LeaseClaim{
      .task_id = claim->item, .taken_from = std::move(claim->taken_from), .claims = claim->claims};
}

bool renew_lease(Store& store, int64_t run_id, int64_t task_id, const std::string& node,
                 double lease_seconds) {
  return kTaskLeases.renew(store, run_id, task_id, node, lease_seconds);
}

bool release_lease(Store& store, int64_t run_id, int64_t task_id, const std::string& node,
                   bool done) {
  return kTaskLeases.release(store, run_id, task_id, node,
                             done ? LeaseStatus::kDone : LeaseStatus::kOpen);
}

int64_t free_leases(Store& store, int64_t run_id) {
  return kTaskLeases.free_held(store, run_id);
}

std::vector<LeaseRow> leases_of(const Store& store, int64_t run_id) {
  std::vector<LeaseRow> rows;
  for (Lease& lease : kTaskLeases.leases_of(store, run_id))
    rows.push_back({.run_id = lease.run_id,
                    .task_id = lease.item,
                    .node = std::move(lease.node),
                    .expires_at = lease.expires_at,
                    .claims = lease.claims,
                    .status = lease.status});
  return rows;
}

int64_t count_open_leases(const Store& store, int64_t run_id) {
  return kTaskLeases.count_open(store, run_id);
}

}  // namespace kforge
