// The one implementation of a lease in the store, for the three tables of leases: who works on
// which item of a run until when, so that several kforge processes (nodes, on one machine or many)
// share one run. A table of leases has one row per (run, item): `leases`, whose items are a run's
// tasks (`task_id`; lease_records.hpp, `optimize --join` and `nightly --join`);
// `point_leases`, whose items are the points of a tuning run's space (`point`;
// point_lease_records.hpp, `tune --join`); `slot_leases`, whose items are the candidate slots
// of a replay run (`slot`; slot_lease_records.hpp, `optimize --join` with the replay agent). A
// LeaseTable names the table and its item column; the operations are the same on all three
// (add_free excepted for slots, whose rows name their task and item: add_slot_leases):
//   add_free / add_held  a row for an item, free (nobody holds it) or already held by a node
//   claim                the first open item that is free or whose holder let it expire
//   renew                the holder moves its expiry on (its heartbeat); refused to anyone else
//   release              the holder gives it up, done for good or free for the next claim
//   free_held            every held open row freed at once (a --resume of a run nobody works on)
// A node that dies stops renewing: once its lease expires the next claim takes the item over,
// and its renewal, had it only stalled, is refused from then on.
//
// Claims are atomic on both backends: PostgreSQL locks the chosen row with
// `SELECT ... FOR UPDATE SKIP LOCKED` (so nodes claiming at once take different rows and never
// wait for one another); SQLite's write transactions (BEGIN IMMEDIATE) run one at a time.
// Expiry times are the database's clock, never a node's, so that nodes whose clocks differ agree
// on when a lease has expired.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "datasets/store.hpp"
#include "harness/util/error.hpp"

namespace kforge {

// A fenced write refused (Store::FencedWrites, LeaseTable::holds): the node no longer holds
// the lease its writes depend on, because another node took the item over after the lease
// expired. Nothing of the refused transaction was written.
class LeaseLost : public Error {
 public:
  using Error::Error;
};

// A lease is open until its item is finished for the whole run, then done (and nobody's).
enum class LeaseStatus { kOpen, kDone };

// "open", "done": the names stored in the tables' status column (migrations.cpp checks them).
std::string_view lease_status_name(LeaseStatus status);
std::optional<LeaseStatus> lease_status_from_name(std::string_view name);

// One row of a table of leases.
struct Lease {
  int64_t run_id = 0;
  int64_t item = 0;                  // the task id, or the point's index in the tuning space
  std::optional<std::string> node;   // the holder, "<host>:<pid>"; nullopt while free or done
  std::optional<double> expires_at;  // the database's clock, seconds since 1970; nullopt if free
  int64_t claims = 0;                // how often it was claimed or handed out: > 1 after takeovers
  LeaseStatus status = LeaseStatus::kOpen;
};

// What a claim took.
struct ClaimedLease {
  int64_t item = 0;
  // The node whose lease had expired, when this claim took the item over from it; nullopt when
  // the item was free (never held, given back undone, or freed).
  std::optional<std::string> taken_from;
  int64_t claims = 0;  // counting this one
};

class LeaseTable {
 public:
  // `table` and `item_column` are spliced into the statements: names of the schema, never input.
  // `item_name` says what an item is, for messages ("task").
  constexpr LeaseTable(std::string_view table, std::string_view item_column,
                       std::string_view item_name)
      : table_(table), item_column_(item_column), item_name_(item_name) {}

  std::string_view table() const { return table_; }
  std::string_view item_name() const { return item_name_; }

  // Adds a free lease for each item that has none yet in the run (those that have one keep it).
  void add_free(Store& store, int64_t run_id, const std::vector<int64_t>& items) const;
  // Adds the item's lease already held by `node` until `lease_seconds` from now. False when the
  // item has a lease in the run already (any node's, open or done); then nothing changes.
  bool add_held(Store& store, int64_t run_id, int64_t item, const std::string& node,
                double lease_seconds) const;

  // Claims the run's first open item (by item) that is free or whose lease has expired, for
  // `node`, until `lease_seconds` from now; nullopt when there is none. Opens its own
  // transaction: call it outside one.
  std::optional<ClaimedLease> claim(Store& store, int64_t run_id, const std::string& node,
                                    double lease_seconds) const;

  // Moves the lease's expiry to `lease_seconds` from now. False when `node` does not hold it
  // open (it expired and another node took it over, it was released, or it is done).
  bool renew(Store& store, int64_t run_id, int64_t item, const std::string& node,
             double lease_seconds) const;

  // Gives the lease up: done for good (`LeaseStatus::kDone`) or free for the next claim
  // (`kOpen`). False when `node` did not hold it open; then nothing changes.
  bool release(Store& store, int64_t run_id, int64_t item, const std::string& node,
               LeaseStatus after) const;

  // True when `node` holds the item's lease open under the claim that counted `claims` (no
  // claim came since: a takeover, or this node's own claim again after one, counts another).
  // The fence of a holder's writes: call it inside their transaction. On PostgreSQL the row
  // stays locked until that transaction ends, so that no claim takes the item over before its
  // writes commit; SQLite's write transactions take turns already.
  bool holds(Store& store, int64_t run_id, int64_t item, const std::string& node,
             int64_t claims) const;

  // Frees every held open lease of the run whoever holds it, and returns how many were held.
  int64_t free_held(Store& store, int64_t run_id) const;

  // The run's leases, by item.
  std::vector<Lease> leases_of(const Store& store, int64_t run_id) const;
  // The run's open items (held, free or expired), by item.
  std::vector<int64_t> open_items(const Store& store, int64_t run_id) const;
  // How many of the run's leases are open; 0 once every item is done.
  int64_t count_open(const Store& store, int64_t run_id) const;

 private:
  std::string_view table_;
  std::string_view item_column_;
  std::string_view item_name_;
};

// The leases of a run's tasks, of a tuning run's points and of a replay run's candidate slots
// (migrations.cpp, versions 8, 9 and 10; slot_lease_records.hpp adds the slots' rows).
inline constexpr LeaseTable kTaskLeases{"leases", "task_id", "task"};
inline constexpr LeaseTable kPointLeases{"point_leases", "point", "point"};
inline constexpr LeaseTable kSlotLeases{"slot_leases", "slot", "candidate slot"};

}  // namespace kforge
