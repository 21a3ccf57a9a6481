// An export, pass by pass: read rows (filters in SQL, the format's order) -> drop tasks that
// overlap a benchmark -> drop duplicates, keeping the best -> assign the task's split -> the
// format writes records -> the dataset card. Every pass is counted in the returned report, the
// same document `kforge dataset stats --json` prints and the dataset card is written from.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>

#include <nlohmann/json.hpp>

#include "datasets/export/export_options.hpp"
#include "datasets/sqlite.hpp"
#include "datasets/store.hpp"

namespace kforge::dataset {

// With `out`, writes <out>/{train,validation,test}.jsonl (plus the format's own files) and
// <out>/README.md; without, only counts (kforge dataset stats). Returns the report.
nlohmann::json run_export(const sql::Connection& db, const ExportOptions& options,
                          const std::optional<std::filesystem::path>& out,
                          const std::function<void(const std::string&)>& progress = {});
// The same, from an open store: what callers outside datasets/ use.
nlohmann::json run_export(const Store& store, const ExportOptions& options,
                          const std::optional<std::filesystem::path>& out,
                          const std::function<void(const std::string&)>& progress = {});

}  // namespace kforge::dataset
