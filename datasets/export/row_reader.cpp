#include "datasets/export/row_reader.hpp"

#include <optional>
#include <string>
#include <vector>

#include "datasets/sql_dialect.hpp"
#include "harness/util/error.hpp"
#include "harness/util/json_text.hpp"

namespace kforge::dataset {
namespace {

// One query, streamed in the format's order. Tasks drive it (the unique index on (name,
// version) yields them by name), then each task's candidates and their evaluations through the
// foreign-key indexes; CROSS JOIN keeps that nesting. Every order starts with the task's name,
// so SQLite only sorts the rows of one name at a time ("temp b-tree for right part of order
// by"): its sorter holds one task's rows, spilling to temporary files past its cache-sized
// limit, and each row's pages are read once. (Sorting ids over the whole store and fetching
// every row by id read each candidate twice, the second time in random order.)
//
// On PostgreSQL the JSON columns are read as stored (kforge writes them compact, which is what
// SQLite's json() makes of them) and the timing samples are taken out here, in C++, the way
// SQLite's json_remove leaves the rest; the exports from both are byte for byte the same.
constexpr std::string_view kSqliteJson = R"sql(
SELECT c.id, c.run_id, c.parent_id, c.iteration, c.origin, c.source, c.source_hash,
       json(c.plan), json(c.defines), c.created_at,
       t.id, t.name, t.suite, t.version, t.source, t.source_hash, t.signature, t.license,
       e.id, e.verdict, e.reason, e.evidence, e.arch, e.gpu, json(e.compile),
       json(e.stages), json_remove(e.timing, '$.samples'),
       CASE json_type(e.timing, '$.samples') WHEN 'array'
         THEN json_array_length(e.timing, '$.samples') END,)sql";
constexpr std::string_view kPostgresJson = R"sql(
SELECT c.id, c.run_id, c.parent_id, c.iteration, c.origin, c.source, c.source_hash,
       c.plan, c.defines, c.created_at,
       t.id, t.name, t.suite, t.version, t.source, t.source_hash, t.signature, t.license,
       e.id, e.verdict, e.reason, e.evidence, e.arch, e.gpu, e.compile,
       e.stages, e.timing, NULL,)sql";
constexpr std::string_view kSelect = R"sql(
       e.device_time_us, e.speedup_eager, e.speedup_compile, e.harness_version,
       e.environment, e.created_at,
       r.kind, r.agent, r.strategy, r.model, r.environment,
       x.provider, x.model, x.request, x.response, x.prompt_tokens, x.completion_tokens,
       x.cost_usd, x.latency_ms,
       b.eager_us, b.compile_us, b.torch_version, e.record_version,
       p.id, p.status, p.reason, p.detail, p.profiler, p.chip, p.passes, p.overhead_ms, p.kernels
FROM tasks t
CROSS JOIN candidates c ON c.task_id = t.id
CROSS JOIN evaluations e ON e.candidate_id = c.id
LEFT JOIN runs r ON r.id = c.run_id
LEFT JOIN llm_exchanges x ON x.id = c.llm_exchange_id
LEFT JOIN baselines b ON b.id = (
  SELECT b2.id FROM baselines b2
  WHERE b2.task_id = t.id AND b2.shape = 'benchmark' AND b2.gpu = e.gpu
  ORDER BY b2.created_at DESC, b2.id DESC LIMIT 1)
LEFT JOIN profiles p ON p.id = (SELECT max(p2.id) FROM profiles p2 WHERE p2.evaluation_id = e.id)
WHERE NOT EXISTS (SELECT 1 FROM evaluations e2
                  WHERE e2.candidate_id = e.candidate_id AND e2.gpu IS e.gpu AND e2.id > e.id)
)sql";

// Appends "AND (column op ? OR ...)" and remembers the values to bind; GLOB patterns become
// regular expressions on PostgreSQL, which has no GLOB.
void add_any_of(std::string& sql, std::vector<std::string>& binds, std::string_view column,
                const std::vector<std::string>& values, sql::Dialect dialect,
                std::string_view op = "=") {
  if (values.empty())
    return;
  bool glob_as_regex = op == "GLOB" && dialect == sql::Dialect::kPostgres;
  sql += " AND (";
  for (size_t i = 0; i < values.size(); ++i) {
    sql += (i ? " OR " : "");
    sql += std::string(column) + " " + std::string(glob_as_regex ? "~" : op) + " ?";
    binds.push_back(glob_as_regex ? sql::glob_to_regex(values[i]) : values[i]);
  }
  sql += ")";
}

std::string_view order_clause(RowOrder order) {
  switch (order) {
    case RowOrder::kTaskBestFirst:
      return " ORDER BY t.name, t.id, e.verdict <> 'correct', e.speedup_eager IS NULL,"
             " e.speedup_eager DESC, e.device_time_us IS NULL, e.device_time_us, c.id, e.id";
    case RowOrder::kTaskGpuHarness:
      return " ORDER BY t.name, t.id, e.gpu NULLS FIRST, e.harness_version, e.verdict <> 'correct',"
             " e.device_time_us IS NULL, e.device_time_us, c.id, e.id";
    case RowOrder::kTrajectory:
      return " ORDER BY t.name, t.id, c.run_id IS NULL, c.run_id, e.gpu NULLS FIRST,"
             " c.iteration IS NULL,"
             " c.iteration, c.id, e.id";
  }
  return "";
}

// What SQLite's json_remove(timing, '$.samples') and json_array_length leave, for a timing
// column read as stored.
void take_out_samples(CandidateRow& row) {
  if (!row.timing)
    return;
  nlohmann::json timing = nlohmann::json::parse(*row.timing, nullptr, false);
  if (!timing.is_object())
    return;
  auto samples = timing.find("samples");
  if (samples == timing.end())
    return;
  if (samples->is_array())
    row.timing_sample_count = static_cast<int64_t>(samples->size());
  timing.erase(samples);
  row.timing = json_text(timing);
}

// The exporters read the columns of one evaluation record version: a row of another (written by
// a newer kforge) or of none (a damaged row) is refused, naming the evaluation, never misread.
void check_record_version(std::optional<int64_t> version, const CandidateRow& row) {
  const std::string where = "evaluation " + std::to_string(row.evaluation_id) + " (candidate " +
                            std::to_string(row.candidate_id) + ")";
  if (!version)
    throw Error("the evaluation has no record version (a damaged row)", where);
  if (*version != kExportedRecordVersion)
    throw Error("the evaluation holds an evaluation record of version " + std::to_string(*version) +
                    ", and this kforge exports version " + std::to_string(kExportedRecordVersion) +
                    " only: use a newer kforge",
                where);
}

}  // namespace

void read_rows(const sql::Connection& db, const Filters& filters, RowOrder order,
               const std::function<void(const CandidateRow&)>& visit) {
  const sql::Dialect dialect = db.dialect();
  const bool postgres = dialect == sql::Dialect::kPostgres;
  std::string sql = std::string(postgres ? kPostgresJson : kSqliteJson) + std::string(kSelect);
  std::vector<std::string> text_binds;
  add_any_of(sql, text_binds, "e.verdict", filters.verdicts, dialect);
  add_any_of(sql, text_binds, "e.gpu", filters.gpus, dialect);
  add_any_of(sql, text_binds, "e.arch", filters.arches, dialect);
  add_any_of(sql, text_binds, "t.suite", filters.suites, dialect);
  add_any_of(sql, text_binds, "t.name", filters.tasks, dialect, "GLOB");
  add_any_of(sql, text_binds, "c.origin", filters.origins, dialect);
  add_any_of(sql, text_binds, "coalesce(x.model, r.model)", filters.models, dialect);
  if (filters.since) {
    sql += " AND e.created_at >= ?";
    text_binds.push_back(*filters.since);
  }
  if (filters.until) {
    // Inclusive: an evaluation on the --until day (or minute) itself passes.
    sql += " AND substr(e.created_at, 1, " + std::to_string(filters.until->size()) + ") <= ?";
    text_binds.push_back(*filters.until);
  }
  std::vector<double> real_binds;
  if (filters.min_speedup_eager) {
    sql += " AND e.speedup_eager >= ?";
    real_binds.push_back(*filters.min_speedup_eager);
  }
  if (filters.min_speedup_compile) {
    sql += " AND e.speedup_compile >= ?";
    real_binds.push_back(*filters.min_speedup_compile);
  }
  sql += order_clause(order);

  sql::Statement query = db.prepare(sql);
  int index = 1;
  for (const std::string& value : text_binds)
    query.bind(index++, std::string_view(value));
  for (double value : real_binds)
    query.bind(index++, value);

  CandidateRow row;
  while (query.step()) {
    int i = 0;
    row.candidate_id = query.integer(i++);
    row.run_id = query.optional_integer(i++);
    row.parent_id = query.optional_integer(i++);
    row.iteration = query.optional_integer(i++);
    row.origin = query.text(i++);
    row.source = query.text(i++);
    row.source_hash = query.text(i++);
    row.plan = query.optional_text(i++);
    row.defines = query.text(i++);
    row.candidate_created_at = query.text(i++);
    row.task_id = query.integer(i++);
    row.task_name = query.text(i++);
    row.suite = query.text(i++);
    row.task_version = query.integer(i++);
    row.task_source = query.text(i++);
    row.task_source_hash = query.text(i++);
    row.task_signature = query.optional_text(i++);
    row.task_license = query.optional_text(i++);
    row.evaluation_id = query.integer(i++);
    row.verdict = query.text(i++);
    row.reason = query.optional_text(i++);
    row.evidence = query.text(i++);
    row.arch = query.optional_text(i++);
    row.gpu = query.optional_text(i++);
    row.compile = query.optional_text(i++);
    row.stages = query.text(i++);
    row.timing = query.optional_text(i++);
    row.timing_sample_count = query.optional_integer(i++);
    if (postgres)
      take_out_samples(row);
    row.device_time_us = query.optional_real(i++);
    row.speedup_eager = query.optional_real(i++);
    row.speedup_compile = query.optional_real(i++);
    row.harness_version = query.integer(i++);
    row.environment = query.text(i++);
    row.evaluated_at = query.text(i++);
    row.run_kind = query.optional_text(i++);
    row.agent = query.optional_text(i++);
    row.strategy = query.optional_text(i++);
    row.run_model = query.optional_text(i++);
    row.run_environment = query.optional_text(i++);
    row.provider = query.optional_text(i++);
    row.exchange_model = query.optional_text(i++);
    row.request = query.optional_text(i++);
    row.response = query.optional_text(i++);
    row.prompt_tokens = query.optional_integer(i++);
    row.completion_tokens = query.optional_integer(i++);
    row.cost_usd = query.optional_real(i++);
    row.latency_ms = query.optional_integer(i++);
    row.baseline_eager_us = query.optional_real(i++);
    row.baseline_compile_us = query.optional_real(i++);
    row.baseline_torch_version = query.optional_text(i++);
    check_record_version(query.optional_integer(i++), row);
    row.profile.reset();
    if (std::optional<int64_t> profile_id = query.optional_integer(i++)) {
      ProfileRow& profile = row.profile.emplace();
      profile.id = *profile_id;
      profile.evaluation_id = row.evaluation_id;
      const std::string where = "profiles row " + std::to_string(profile.id);
      profile.status = profile_status_from_column(query.text(i++), where);
      profile.reason = profile_reason_from_column(query.text(i++), where);
      profile.detail = query.text(i++);
      profile.profiler = query.text(i++);
      profile.chip = query.text(i++);
      profile.passes = query.integer(i++);
      profile.overhead_ms = query.real(i++);
      profile.kernels = nlohmann::json::parse(query.text(i++), nullptr, false);
    } else {
      i += 8;  // the profile's other columns, all NULL
    }
    visit(row);
  }
}

}  // namespace kforge::dataset
