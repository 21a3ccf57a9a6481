#include "datasets/slot_lease_records.hpp"

#include <string>

namespace kforge {

void add_slot_leases(Store& store, int64_t run_id, const std::vector<SlotRow>& slots) {
  auto insert = store.db().prepare(
      "INSERT INTO slot_leases (run_id, slot, task_id, item) VALUES (?, ?, ?, ?) "
      "ON CONFLICT (run_id, slot) DO NOTHING");
  for (const SlotRow& slot : slots) {
    insert.bind(1, run_id).bind(2, slot.slot).bind(3, slot.task_id).bind(4, slot.item);
    insert.run();
    insert.reset();
  }
}

std::vector<SlotRow> slots_of(const Store& store, int64_t run_id) {
  auto query = store.db().prepare(
      "SELECT slot, task_id, item FROM slot_leases WHERE run_id = ? ORDER BY slot");
  query.bind(1, run_id);
  std::vector<SlotRow> slots;
  while (query.step())
    slots.push_back(
        {.slot = query.integer(0), .task_id = query.integer(1), .item = query.integer(2)});
  return slots;
}

}  // namespace kforge
