// `kforge db copy`: every row of one store into another, between SQLite and PostgreSQL either
// way (or like to like), in one transaction on the target: an interrupted copy leaves the
// target as it was. Both stores are at this kforge's schema version once opened (Store::open
// migrates them), so their tables and columns are the same; rows keep their ids, and on
// PostgreSQL the id sequences are moved past the copied ids so that new rows follow them.
// The source is read as it is while the copy runs: copy a store that nobody writes to.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "datasets/store.hpp"

namespace kforge {

struct StoreCopyResult {
  std::vector<std::pair<std::string, int64_t>> rows;  // table, rows copied, in copy order
  int64_t total = 0;
};

// Copies `from` into `to`. A target holding any row is refused (Error naming it and the table)
// unless `replace`, which deletes the target's rows first, in the same transaction.
StoreCopyResult copy_store(const Store& from, Store& to, bool replace);

}  // namespace kforge
