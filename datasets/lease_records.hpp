// The leases table: who works on which task of a run, so that several kforge processes (nodes,
// on one machine or many) share one run (`kforge optimize --join RUN`). Each task of a run has
// one lease row; a node claims a free one (or one whose holder let it expire), renews it while
// it works (its heartbeat), and releases it when the task is done (or gives it back undone).
// A node that dies stops renewing: once its lease expires, the next claim takes the task over,
// and the new holder continues from the task's checkpoint in run_tasks (what the dead node
// committed is kept, what it had not committed is done again).
//
// These are the task leases' names for the one lease implementation, lease_table.hpp
// (`kTaskLeases`: the leases table, its items task ids), which says how claims stay atomic on
// both backends and why expiry is the database's clock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "datasets/lease_table.hpp"
#include "datasets/store.hpp"

namespace kforge {

struct LeaseRow {
  int64_t run_id = 0;
  int64_t task_id = 0;
  std::optional<std::string> node;   // the holder, "<host>:<pid>"; nullopt while free
  std::optional<double> expires_at;  // the database's clock, seconds since 1970; nullopt if free
  int64_t claims = 0;                // how often it was claimed: more than 1 after a takeover
  LeaseStatus status = LeaseStatus::kOpen;  // open until a node releases it done
};

// What a claim took.
struct LeaseClaim {
  int64_t task_id = 0;
  // The node whose lease had expired, when this claim took the task over from it.
  std::optional<std::string> taken_from;
  int64_t claims = 0;  // counting this one
};

// Adds a free lease for each of the run's tasks that has none yet (those that have one keep it).
void add_leases(Store& store, int64_t run_id, const std::vector<int64_t>& task_ids);

// Claims the run's first open task (by task id) that is free or whose lease has expired, for
// `node`, until `lease_seconds` from now; nullopt when there is none. Opens its own transaction:
// call it outside one.
std::optional<LeaseClaim> claim_next_lease(Store& store, int64_t run_id, const std::string& node,
                                           double lease_seconds);

// Moves the lease's expiry to `lease_seconds` from now. False when `node` no longer holds it
// (it expired and another node took it over, or it was released): the node must stop the task.
bool renew_lease(Store& store, int64_t run_id, int64_t task_id, const std::string& node,
                 double lease_seconds);

// Gives the lease up: `done` marks the task finished for the whole run; otherwise it is free for
// the next claim. False when `node` did not hold it.
bool release_lease(Store& store, int64_t run_id, int64_t task_id, const std::string& node,
                   bool done);

// Frees every open lease of the run whoever holds it (`optimize --resume`, which is for a run
// nobody works on any more), and returns how many were held.
int64_t free_leases(Store& store, int64_t run_id);

// The run's leases, by task id.
std::vector<LeaseRow> leases_of(const Store& store, int64_t run_id);

// How many of the run's leases are still open (held or free); 0 once every task is done.
int64_t count_open_leases(const Store& store, int64_t run_id);

}  // namespace kforge
