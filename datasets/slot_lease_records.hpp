// The slot_leases table: which node evaluates which candidate slot of a replay run, so that the
// nodes sharing an optimize run (`kforge optimize --join RUN`, docs/scale-out.md) share a task's
// candidates, not only its tasks: a run of one task and many candidates keeps every GPU of every
// node busy. The slots of a run are every replay item of every task, numbered by task id then
// item (the node that starts the run adds them all, free); a joining node numbers its own alike
// and refuses a run whose slots differ. Each node's lanes claim the next free (or expired) slot,
// evaluate its candidate, store it under the slot's lease (fenced, as a task's writes are) and
// release the slot done.
//
// The claims, renewals, releases and the fence are the one lease implementation's,
// lease_table.hpp (`kSlotLeases`: the slot_leases table, its items slots).
#pragma once

#include <cstdint>
#include <vector>

#include "datasets/lease_table.hpp"
#include "datasets/store.hpp"

namespace kforge {

// What a slot stands for.
struct SlotRow {
  int64_t slot = 0;     // the slot's number in the run
  int64_t task_id = 0;  // the task
  int64_t item = 0;     // the replay item of the task: the candidate's iteration
};

// Adds a free lease for each slot that has none yet in the run (those that have one keep it).
void add_slot_leases(Store& store, int64_t run_id, const std::vector<SlotRow>& slots);

// The run's slots, by slot number.
std::vector<SlotRow> slots_of(const Store& store, int64_t run_id);

}  // namespace kforge
