// The point_leases table: which node evaluates which point of a tuning run's space, so that
// several kforge processes (nodes) share one tuning run (`kforge tune --join RUN`,
// docs/scale-out.md). A point is handed out by the node that asks the run's strategy for it,
// which adds its lease already held (`add_point_lease`, inside the transaction that holds the
// run's strategy step, `lock_tuning_run`); the node renews it while it evaluates the point and
// releases it done in the transaction that tells the point's result to the strategy. The
// primary key (run, point) makes each point of a run handed out once. A node that dies stops
// renewing: once its lease expires, `claim_expired_point_lease` gives the point to another node,
// which evaluates it (or finds its evaluation in the store) and tells it.
//
// These are the point leases' names for the one lease implementation, lease_table.hpp
// (`kPointLeases`: the point_leases table, its items points), which the task leases share: claims
// atomic on both backends, expiry by the database's clock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "datasets/lease_table.hpp"
#include "datasets/store.hpp"

namespace kforge {

struct PointLeaseRow {
  int64_t run_id = 0;
  int64_t point = 0;                        // the point's index in the run's tuning space
  std::optional<std::string> node;          // the holder, "<host>:<pid>"; nullopt once done
  std::optional<double> expires_at;         // the database's clock, seconds since 1970
  int64_t claims = 0;                       // 1, or more after takeovers
  LeaseStatus status = LeaseStatus::kOpen;  // open until its result is told
};

// What a claim of an expired point took.
struct PointClaim {
  int64_t point = 0;
  std::optional<std::string> taken_from;  // the node whose lease had expired
  int64_t claims = 0;                     // counting this one
};

// Serialises the run's strategy steps (asking a point, telling a result) between nodes until
// the caller's transaction ends: on PostgreSQL it locks the run's row (`SELECT ... FOR NO KEY
// UPDATE`, waiting for another node's step to commit); SQLite's write transaction already runs
// alone.
// Call it first inside a Store::Transaction. An Error when there is no such run.
void lock_tuning_run(Store& store, int64_t run_id);

// Hands point `point` of the run out to `node`, held until `lease_seconds` from now. False when
// the point was handed out before (to any node). Joins the caller's transaction.
bool add_point_lease(Store& store, int64_t run_id, int64_t point, const std::string& node,
                     double lease_seconds);

// Claims the run's first open point (by index) whose lease has expired, for `node`, until
// `lease_seconds` from now; nullopt when there is none. Opens its own transaction: call it
// outside one.
std::optional<PointClaim> claim_expired_point_lease(Store& store, int64_t run_id,
                                                    const std::string& node, double lease_seconds);

// Moves the lease's expiry to `lease_seconds` from now. False when `node` no longer holds it (it
// expired and another node took the point over, or it is done).
bool renew_point_lease(Store& store, int64_t run_id, int64_t point, const std::string& node,
                       double lease_seconds);

// Marks the point done (its result told) when `done`, else frees it for the next claim. False
// when `node` did not hold it; then nothing changes. Joins the caller's transaction.
bool release_point_lease(Store& store, int64_t run_id, int64_t point, const std::string& node,
                         bool done);

// Frees every held open point of the run whoever holds it (`tune --resume`, for a run nobody
// works on any more), and returns how many were held.
int64_t free_point_leases(Store& store, int64_t run_id);

// The run's point leases, by point.
std::vector<PointLeaseRow> point_leases_of(const Store& store, int64_t run_id);

// The points of the run handed out and not yet told (held, free or expired), by point.
std::vector<int64_t> open_points(const Store& store, int64_t run_id);

}  // namespace kforge
