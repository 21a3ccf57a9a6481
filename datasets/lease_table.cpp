#include "datasets/lease_table.hpp"

#include <array>
#include <utility>

#include "harness/util/error.hpp"

namespace kforge {
namespace {

constexpr std::array<std::pair<LeaseStatus, std::string_view>, 2> kLeaseStatusNames = {{
    {LeaseStatus::kOpen, "open"},
    {LeaseStatus::kDone, "done"},
}};

// The database's clock in seconds since 1970, as an SQL expression of the store's dialect.
std::string database_now(const Store& store) {
  return store.dialect() == sql::Dialect::kPostgres
             ? "CAST(extract(epoch FROM clock_timestamp()) AS DOUBLE PRECISION)"
             : "((julianday('now') - 2440587.5) * 86400.0)";
}

const std::string kOpen(lease_status_name(LeaseStatus::kOpen));

}  // namespace

std::string_view lease_status_name(LeaseStatus status) {
  for (const auto& [value, name] : kLeaseStatusNames)
    if (value == status)
      return name;
  return "unknown";
}

std::optional<LeaseStatus> lease_status_from_name(std::string_view name) {
  for (const auto& [value, known] : kLeaseStatusNames)
    if (known == name)
      return value;
  return std::nullopt;
}

void LeaseTable::add_free(Store& store, int64_t run_id, const std::vector<int64_t>& items) const {
  auto insert = store.db().prepare(
      "INSERT INTO " + std::string(table_) + " (run_id, " + std::string(item_column_) +
      ") VALUES (?, ?) ON CONFLICT (run_id, " + std::string(item_column_) + ") DO NOTHING");
  for (int64_t item : items) {
    insert.bind(1, run_id).bind(2, item);
    insert.run();
    insert.reset();
  }
}

bool LeaseTable::add_held(Store& store, int64_t run_id, int64_t item, const std::string& node,
                          double lease_seconds) const {
  const std::string column(item_column_);
  auto insert =
      store.db().prepare("INSERT INTO " + std::string(table_) + " (run_id, " + column +
                         ", node, expires_at, claims) VALUES (?, ?, ?, " + database_now(store) +
                         " + ?, 1) ON CONFLICT (run_id, " + column + ") DO NOTHING");
  insert.bind(1, run_id).bind(2, item).bind(3, node).bind(4, lease_seconds);
  insert.run();
  return store.db().changes() == 1;
}

std::optional<ClaimedLease> LeaseTable::claim(Store& store, int64_t run_id, const std::string& node,
                                              double lease_seconds) const {
  const std::string now = database_now(store);
  const std::string table(table_);
  const std::string column(item_column_);
  Store::Transaction transaction(store);
  // On PostgreSQL the row is locked until the commit, and rows other claims have locked are
  // passed over, not waited for; SQLite's BEGIN IMMEDIATE lets one claim run at a time.
  std::string select = "SELECT " + column + ", node, claims FROM " + table +
                       " WHERE run_id = ? AND status = ? AND (node IS NULL OR expires_at < " + now +
                       ") ORDER BY " + column + " LIMIT 1";
  if (store.dialect() == sql::Dialect::kPostgres)
    select += " FOR UPDATE SKIP LOCKED";
  auto query = store.db().prepare(select);
  query.bind(1, run_id).bind(2, kOpen);
  if (!query.step())
    return std::nullopt;  // the transaction rolls back: nothing was written
  ClaimedLease claim{.item = query.integer(0),
                     .taken_from = query.optional_text(1),
                     .claims = query.integer(2) + 1};
  auto update = store.db().prepare("UPDATE " + table + " SET node = ?, expires_at = " + now +
                                   " + ?, claims = ? WHERE run_id = ? AND " + column + " = ?");
  update.bind(1, node)
      .bind(2, lease_seconds)
      .bind(3, claim.claims)
      .bind(4, run_id)
      .bind(5, claim.item);
  update.run();
  transaction.commit();
  return claim;
}

bool LeaseTable::renew(Store& store, int64_t run_id, int64_t item, const std::string& node,
                       double lease_seconds) const {
  auto update = store.db().prepare("UPDATE " + std::string(table_) + " SET expires_at = " +
                                   database_now(store) + " + ? WHERE run_id = ? AND " +
                                   std::string(item_column_) + " = ? AND node = ? AND status = ?");
  update.bind(1, lease_seconds).bind(2, run_id).bind(3, item).bind(4, node).bind(5, kOpen);
  update.run();
  return store.db().changes() == 1;
}

bool LeaseTable::release(Store& store, int64_t run_id, int64_t item, const std::string& node,
                         LeaseStatus after) const {
  auto update = store.db().prepare("UPDATE " + std::string(table_) +
                                   " SET node = NULL, expires_at = NULL, status = ? "
                                   "WHERE run_id = ? AND " +
                                   std::string(item_column_) + " = ? AND node = ? AND status = ?");
  update.bind(1, lease_status_name(after))
      .bind(2, run_id)
      .bind(3, item)
      .bind(4, node)
      .bind(5, kOpen);
  update.run();
  return store.db().changes() == 1;
}

bool LeaseTable::holds(Store& store, int64_t run_id, int64_t item, const std::string& node,
                       int64_t claims) const {
  std::string select = "SELECT 1 FROM " + std::string(table_) + " WHERE run_id = ? AND " +
                       std::string(item_column_) +
                       " = ? AND node = ? AND claims = ? AND status = ?";
  if (store.dialect() == sql::Dialect::kPostgres)
    select += " FOR UPDATE";
  auto query = store.db().prepare(select);
  query.bind(1, run_id).bind(2, item).bind(3, node).bind(4, claims).bind(5, kOpen);
  return query.step();
}

int64_t LeaseTable::free_held(Store& store, int64_t run_id) const {
  auto update = store.db().prepare("UPDATE " + std::string(table_) +
                                   " SET node = NULL, expires_at = NULL "
                                   "WHERE run_id = ? AND status = ? AND node IS NOT NULL");
  update.bind(1, run_id).bind(2, kOpen);
  update.run();
  return store.db().changes();
}

std::vector<Lease> LeaseTable::leases_of(const Store& store, int64_t run_id) const {
  const std::string column(item_column_);
  auto query = store.db().prepare("SELECT " + column + ", node, expires_at, claims, status FROM " +
                                  std::string(table_) + " WHERE run_id = ? ORDER BY " + column);
  query.bind(1, run_id);
  std::vector<Lease> rows;
  while (query.step()) {
    const std::string stored = query.text(4);
    std::optional<LeaseStatus> status = lease_status_from_name(stored);
    if (!status)
      throw Error("unknown lease status '" + stored + "' of " + column + " " +
                      std::to_string(query.integer(0)) + " of run " + std::to_string(run_id),
                  store.path().string() + ": " + std::string(table_));
    rows.push_back({.run_id = run_id,
                    .item = query.integer(0),
                    .node = query.optional_text(1),
                    .expires_at = query.optional_real(2),
                    .claims = query.integer(3),
                    .status = *status});
  }
  return rows;
}

std::vector<int64_t> LeaseTable::open_items(const Store& store, int64_t run_id) const {
  const std::string column(item_column_);
  auto query = store.db().prepare("SELECT " + column + " FROM " + std::string(table_) +
                                  " WHERE run_id = ? AND status = ? ORDER BY " + column);
  query.bind(1, run_id).bind(2, kOpen);
  std::vector<int64_t> items;
  while (query.step())
    items.push_back(query.integer(0));
  return items;
}

int64_t LeaseTable::count_open(const Store& store, int64_t run_id) const {
  auto query = store.db().prepare("SELECT count(*) FROM " + std::string(table_) +
                                  " WHERE run_id = ? AND status = ?");
  query.bind(1, run_id).bind(2, kOpen);
  query.step();
  return query.integer(0);
}

}  // namespace kforge
