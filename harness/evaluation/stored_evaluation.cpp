#include "harness/evaluation/stored_evaluation.hpp"

#include <array>

#include "datasets/export/row_reader.hpp"
#include "datasets/profile_records.hpp"
#include "harness/evaluation/harness_version.hpp"
#include "harness/util/error.hpp"

namespace kforge {

// The exports read the stored columns of one record version (datasets/export/row_reader.hpp): a
// new record version is not written until the exporters read it too.
static_assert(dataset::kExportedRecordVersion == kEvaluationRecordVersion,
              "the dataset exporters read another evaluation record version than this one");

namespace {

using nlohmann::json;

// The build's keys in the environment column, beside the run environment's.
constexpr std::array kBuildKeys = {"kforge", "commit", "nvrtc", "arch"};

std::string row_name(const EvaluationRow& row) {
  return "evaluation " + std::to_string(row.id) + " (candidate " +
         std::to_string(row.candidate_id) + ")";
}

json optional_number(const std::optional<double>& value) {
  return value ? json(*value) : json(nullptr);
}

}  // namespace

json StoredEvaluation::versions_json() const {
  json versions = {{"kforge", build.kforge},
                   {"commit", build.commit},
                   {"nvrtc", build.nvrtc},
                   {"arch", build.arch}};
  if (!record.gpu.empty())
    versions.update(record.environment.to_json());
  return versions;
}

json stored_evidence_json(const EvaluationRecord& record) {
  json evidence = record.evidence.to_json();
  evidence["detail"] = record.detail;
  return evidence;
}

EvaluationRow evaluation_row(const EvaluationRecord& record, std::optional<int64_t> run_id,
                             const HarnessBuild& build) {
  StoredEvaluation stored{.record = record, .build = build};
  return EvaluationRow{
      .candidate_id = record.candidate_id,
      .run_id = run_id,
      .verdict = std::string(verdict_name(record.verdict)),
      .reason = record.reason,
      .evidence = stored_evidence_json(record),
      .arch = record.arch,
      .gpu = record.gpu.empty() ? std::nullopt : std::optional(record.gpu),
      .compile =
          record.compile ? std::optional(compile_summary_to_json(*record.compile)) : std::nullopt,
      .stages = stages_to_json(record.stages),
      .timing = record.timing ? std::optional(record.timing->to_json()) : std::nullopt,
      .device_time_us = record.device_time_us,
      .speedup_eager = record.speedup_eager,
      .speedup_compile = record.speedup_compile,
      .harness_version = kHarnessVersion,
      .record_version = kEvaluationRecordVersion,
      .environment = stored.versions_json()};
}

StoredEvaluation read_stored_evaluation(const EvaluationRow& row, const CandidateRow& candidate) {
  const std::string where = row_name(row);
  if (!row.record_version)
    throw Error("the evaluation has no record version (a damaged row)", where);
  if (*row.record_version != kEvaluationRecordVersion)
    throw Error("the evaluation holds an evaluation record of version " +
                    std::to_string(*row.record_version) + ", and this kforge reads version " +
                    std::to_string(kEvaluationRecordVersion) + " only: use a newer kforge",
                where);

  // The record's JSON form, assembled from the columns that hold its parts.
  json evidence = row.evidence;
  if (!evidence.is_object() || !evidence.contains("detail") || !evidence["detail"].is_string())
    throw Error("evaluation record: field 'evidence.detail' is missing or not a string", where);
  json detail = evidence["detail"];
  evidence.erase("detail");
  json form = {{"version", *row.record_version},
               {"verdict", row.verdict},
               {"reason", row.reason.value_or("")},
               {"detail", detail},
               {"evidence", evidence},
               {"stages", row.stages},
               {"defines", candidate.defines},
               {"arch", row.arch.value_or("")},
               {"candidate_id", row.candidate_id},
               {"evaluation_id", row.id}};
  if (row.compile)
    form["compile"] = *row.compile;

  StoredEvaluation stored;
  if (!row.environment.is_object())
    throw Error("evaluation record: field 'environment' must be a JSON object", where);
  json run_environment = row.environment;
  std::array<std::string*, kBuildKeys.size()> build_fields = {
      &stored.build.kforge, &stored.build.commit, &stored.build.nvrtc, &stored.build.arch};
  for (size_t i = 0; i < kBuildKeys.size(); ++i) {
    const char* key = kBuildKeys[i];
    if (!run_environment.contains(key) || !run_environment[key].is_string())
      throw Error(std::string("evaluation record: field 'environment.") + key +
                      "' is missing or not a string",
                  where);
    *build_fields[i] = run_environment[key].get<std::string>();
    run_environment.erase(key);
  }
  if (row.gpu) {
    form["gpu"] = *row.gpu;
    form["environment"] = run_environment;
    form["timing"] = row.timing ? *row.timing : json(nullptr);
    form["device_time_us"] = optional_number(row.device_time_us);
    form["speedup_eager"] = optional_number(row.speedup_eager);
    form["speedup_compile"] = optional_number(row.speedup_compile);
  } else if (!run_environment.empty()) {
    // Nothing ran, so the column holds the build's versions alone.
    throw Error("evaluation record: field 'environment." + run_environment.begin().key() +
                    "' is not part of an evaluation that ran on no GPU",
                where);
  }

  stored.record = EvaluationRecord::from_json(form, where);
  stored.record.plan = candidate.plan;
  stored.run_id = row.run_id;
  stored.harness_version = row.harness_version;
  stored.created_at = row.created_at;
  return stored;
}

std::optional<ProfileReply> stored_profile_of(const Store& store, int64_t evaluation_id) {
  std::vector<ProfileRow> rows = profiles_of(store, evaluation_id);
  if (rows.empty())
    return std::nullopt;
  const ProfileRow& row = rows.back();
  return ProfileReply::from_json(
      row.to_json(),
      "profile " + std::to_string(row.id) + " of evaluation " + std::to_string(evaluation_id));
}

std::vector<StoredEvaluation> stored_evaluations_of(const Store& store,
                                                    const CandidateRow& candidate) {
  std::vector<StoredEvaluation> evaluations;
  for (const EvaluationRow& row : evaluations_of(store, candidate.id)) {
    evaluations.push_back(read_stored_evaluation(row, candidate));
    evaluations.back().record.profile = stored_profile_of(store, row.id);
  }
  return evaluations;
}

}  // namespace kforge
