#include "datasets/profile_records.hpp"

#include "harness/util/error.hpp"
#include "harness/util/json_text.hpp"

namespace kforge {
namespace {

// "" (never a null view, which a statement would bind as NULL) for no reason.
std::string_view reason_text(const std::optional<ProfileUnavailableReason>& reason) {
  return reason ? profile_unavailable_reason_name(*reason) : std::string_view("");
}

}  // namespace

ProfileStatus profile_status_from_column(std::string_view text, const std::string& where) {
  if (std::optional<ProfileStatus> status = profile_status_named(text))
    return *status;
  throw Error("unknown profile status '" + std::string(text) + "' (one of: collected, unavailable)",
              where);
}

std::optional<ProfileUnavailableReason> profile_reason_from_column(std::string_view text,
                                                                   const std::string& where) {
  if (text.empty())
    return std::nullopt;
  if (std::optional<ProfileUnavailableReason> reason = profile_unavailable_reason_named(text))
    return reason;
  throw Error("unknown reason a profile is unavailable '" + std::string(text) + "'", where);
}

nlohmann::json ProfileRow::to_json() const {
  return {{"status", profile_status_name(status)},
          {"reason", reason_text(reason)},
          {"detail", detail},
          {"profiler", profiler},
          {"chip", chip},
          {"passes", passes},
          {"overhead_ms", overhead_ms},
          {"kernels", kernels}};
}

int64_t insert_profile(Store& store, const ProfileRow& profile) {
  auto insert = store.db().prepare(
      "INSERT INTO profiles (evaluation_id, status, reason, detail, profiler, chip, passes, "
      "overhead_ms, kernels) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
  insert.bind(1, profile.evaluation_id)
      .bind(2, profile_status_name(profile.status))
      .bind(3, reason_text(profile.reason))
      .bind(4, profile.detail)
      .bind(5, profile.profiler)
      .bind(6, profile.chip)
      .bind(7, profile.passes)
      .bind(8, profile.overhead_ms)
      .bind(9, json_text(profile.kernels));
  insert.run();
  return store.db().last_insert_id();
}

std::vector<ProfileRow> profiles_of(const Store& store, int64_t evaluation_id) {
  auto query = store.db().prepare(
      "SELECT id, evaluation_id, status, reason, detail, profiler, chip, passes, overhead_ms, "
      "kernels, created_at FROM profiles WHERE evaluation_id = ? ORDER BY id");
  query.bind(1, evaluation_id);
  std::vector<ProfileRow> rows;
  while (query.step()) {
    ProfileRow row;
    row.id = query.integer(0);
    row.evaluation_id = query.integer(1);
    const std::string where = "profiles row " + std::to_string(row.id);
    row.status = profile_status_from_column(query.text(2), where);
    row.reason = profile_reason_from_column(query.text(3), where);
    row.detail = query.text(4);
    row.profiler = query.text(5);
    row.chip = query.text(6);
    row.passes = query.integer(7);
    row.overhead_ms = query.real(8);
    row.kernels = nlohmann::json::parse(query.text(9));
    row.created_at = query.text(10);
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace kforge
