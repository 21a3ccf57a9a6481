#include "harness/library/promotion.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "datasets/promotion_records.hpp"
#include "datasets/task_records.hpp"
#include "harness/candidate/candidate_file.hpp"
#include "harness/evaluation/harness_version.hpp"
#include "harness/evaluation/stored_evaluation.hpp"
#include "harness/library/manifest.hpp"
#include "harness/task.hpp"
#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "harness/util/hash.hpp"
#include "harness/workspace.hpp"

namespace kforge {
namespace {

namespace fs = std::filesystem;

constexpr const char* kTableStart = "<!-- kforge:library-table -->";
constexpr const char* kTableEnd = "<!-- /kforge:library-table -->";

std::string number(double value, int decimals = 2) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

Task task_of(const Store& store, int64_t task_id) {
  std::optional<TaskRow> row = find_task(store, task_id);
  if (!row)
    throw Error("the store has no task with id " + std::to_string(task_id), "tasks");
  return Task::from_record(*row);
}

std::optional<double> timing_value(const nlohmann::json& timing, const char* key) {
  if (timing.is_object() && timing.contains(key) && timing[key].is_number())
    return timing[key].get<double>();
  return std::nullopt;
}

// A variant under <root>/<operation>/ whose manifest lists `arch`, if any.
struct ShippedVariant {
  fs::path folder;
  nlohmann::json manifest;
  nlohmann::json verification;  // the entry for the arch
};

std::optional<ShippedVariant> shipped_for(const fs::path& root, const std::string& task,
                                          const std::string& arch) {
  const fs::path operation = root / library_operation(task);
  std::error_code error;
  if (!fs::is_directory(operation, error))
    return std::nullopt;
  std::vector<fs::path> folders;
  for (const auto& entry : fs::directory_iterator(operation))
    if (entry.is_directory() && fs::exists(entry.path() / "manifest.json"))
      folders.push_back(entry.path());
  std::sort(folders.begin(), folders.end());
  for (const fs::path& folder : folders) {
    nlohmann::json manifest = read_manifest(folder / "manifest.json");
    if (manifest.value("task", nlohmann::json::object()).value("name", "") != task)
      continue;
    const nlohmann::json architectures = manifest.value("architectures", nlohmann::json::array());
    if (std::find(architectures.begin(), architectures.end(), arch) == architectures.end())
      continue;
    nlohmann::json verification;
    for (const nlohmann::json& entry : manifest.value("verified", nlohmann::json::array()))
      if (entry.value("arch", "") == arch)
        verification = entry;  // the latest entry for the arch wins
    return ShippedVariant{folder, manifest, verification};
  }
  return std::nullopt;
}

void write_json(const fs::path& path, const nlohmann::json& json) {
  files::write_atomic(path, json.dump(2) + "\n");
}

void record(Store& store, const PromotionDecision& decision, int64_t task_id) {
  insert_promotion(
      store,
      PromotionRow{
          .candidate_id = decision.candidate_id,
          .evaluation_id = decision.evaluation_id,
          .task_id = task_id,
          .arch = decision.arch.empty() ? std::nullopt : std::optional<std::string>(decision.arch),
          .library_path = decision.library_path.empty()
                              ? std::nullopt
                              : std::optional(decision.library_path.string()),
          .decision = decision.promoted ? "promoted" : "refused",
          .reason = decision.promoted ? decision.reason : decision.rule + ": " + decision.reason});
}

}  // namespace

nlohmann::json PromotionDecision::to_json() const {
  nlohmann::json json = {
      {"candidate_id", candidate_id},
      {"evaluation_id", evaluation_id ? nlohmann::json(*evaluation_id) : nlohmann::json()},
      {"task", task},
      {"arch", arch},
      {"decision", promoted ? "promoted" : "refused"},
      {"rule", rule},
      {"reason", reason}};
  if (!library_path.empty())
    json["library_path"] = library_path.string();
  if (superseded)
    json["superseded"] = *superseded;
  return json;
}

fs::path library_root(const Workspace& workspace, const std::string& flag) {
  fs::path root = flag.empty() ? workspace.config().string("library.dir") : flag;
  return root.is_absolute() || !flag.empty() ? root : workspace.root() / root;
}

Promoter::Promoter(Store& store, PromotionOptions options)
    : store_(store), options_(std::move(options)) {}

PromotionDecision Promoter::promote(int64_t candidate_id) {
  std::optional<CandidateRow> candidate = find_candidate(store_, candidate_id);
  if (!candidate)
    throw Error("no candidate with id " + std::to_string(candidate_id), "the store");
  const Task task = task_of(store_, candidate->task_id);
  // Oldest first, each read into its typed record (a row this kforge cannot read is an Error).
  const std::vector<StoredEvaluation> evaluations = stored_evaluations_of(store_, *candidate);

  PromotionDecision decision;
  decision.candidate_id = candidate_id;
  decision.task = task.name;
  auto refuse = [&](const std::string& rule, const std::string& reason) {
    decision.rule = rule;
    decision.reason = reason;
    record(store_, decision, candidate->task_id);
    return decision;
  };

  for (const StoredEvaluation& evaluation : evaluations)
    if (evaluation.record.verdict == Verdict::kSuspicious) {
      decision.evaluation_id = evaluation.record.evaluation_id;
      decision.arch = evaluation.record.arch;
      return refuse(
          "never_suspicious",
          "evaluation " + std::to_string(evaluation.record.evaluation_id) +
              " found it suspicious (" +
              (evaluation.record.reason.empty() ? "no reason given" : evaluation.record.reason) +
              ")");
    }
  if (evaluations.empty())
    return refuse("correct", "the candidate has never been evaluated");
  const StoredEvaluation& latest = evaluations.back();
  const EvaluationRecord& judged = latest.record;
  decision.evaluation_id = judged.evaluation_id;
  decision.arch = judged.arch;
  const std::string which = "its latest evaluation (" + std::to_string(judged.evaluation_id) + ")";
  if (latest.harness_version != kHarnessVersion)
    return refuse("current_harness", which + " is under harness version " +
                                         std::to_string(latest.harness_version) +
                                         ", the current one is " + std::to_string(kHarnessVersion) +
                                         ": evaluate it again");
  if (judged.verdict != Verdict::kCorrect)
    return refuse("correct", which + " is '" + std::string(verdict_name(judged.verdict)) + "' (" +
                                 judged.reason + "), not 'correct'");
  if (!judged.evidence.verification || judged.evidence.verification->checks.empty())
    return refuse("every_seed_and_shape", which + " records no per-seed, per-shape checks");
  for (const CheckRecord& check : judged.evidence.verification->checks)
    if (!check.passed)
      return refuse("every_seed_and_shape",
                    which + " failed the check at seed " + std::to_string(check.seed) + ", shape " +
                        nlohmann::json(check.shape).dump() + ": " +
                        (check.reason ? nlohmann::json(*check.reason) : nlohmann::json()).dump());
  if (!judged.speedup_eager)
    return refuse("speedup_threshold", which + " has no speedup over eager");
  if (*judged.speedup_eager < options_.min_speedup_eager)
    return refuse("speedup_threshold", "speedup over eager " + number(*judged.speedup_eager) +
                                           " is below the threshold " +
                                           number(options_.min_speedup_eager));
  if (!judged.timing || decision.arch.empty())
    return refuse("beats_shipped", which +
                                       " lacks the architecture or the p10/p90 timing that "
                                       "a comparison with the shipped variant needs");
  const double p10 = judged.timing->statistics.p10_us;
  const double p90 = judged.timing->statistics.p90_us;

  const std::string variant =
      options_.variant.empty() ? "candidate_" + std::to_string(candidate_id) : options_.variant;
  const fs::path folder = options_.library_root / library_operation(task.name) / variant;
  const std::string source_hash = sha256_hex(candidate->source);

  std::optional<ShippedVariant> shipped =
      shipped_for(options_.library_root, task.name, decision.arch);
  if (shipped && shipped->folder == folder)
    return refuse("beats_shipped", "it is already the variant shipped for " + decision.arch + " (" +
                                       folder.string() + ")");
  if (shipped) {
    const std::optional<double> shipped_p10 =
        timing_value(shipped->verification.value("timing", nlohmann::json()), "p10_us");
    const std::optional<double> shipped_p90 =
        timing_value(shipped->verification.value("timing", nlohmann::json()), "p90_us");
    const std::string shipped_name = shipped->folder.filename().string();
    if (shipped_p10 && !(p90 < *shipped_p10))
      return refuse("beats_shipped", "not faster than the shipped variant '" + shipped_name +
                                         "' on " + decision.arch +
                                         " by more than the timing spread: p10/p90 " + number(p10) +
                                         "/" + number(p90) + " us against " + number(*shipped_p10) +
                                         "/" + number(shipped_p90.value_or(*shipped_p10)) + " us");
    decision.superseded = shipped_name;
  }

  // Every rule holds: write the files.
  if (fs::exists(folder / "kernel.cu") &&
      sha256_hex(files::read(folder / "kernel.cu")) != source_hash)
    throw Error("the variant folder already holds another kernel; choose another --variant",
                folder.string());
  PlanResult<CandidateFile> parsed = parse_candidate(candidate->source, "kernel.cu");
  if (!parsed.ok())
    throw Error("a correct candidate no longer parses: " + parsed.error().message(),
                "candidate " + std::to_string(candidate_id));
  nlohmann::json manifest;
  if (fs::exists(folder / "manifest.json")) {
    // The same kernel verified on another architecture: add this one.
    manifest = read_manifest(folder / "manifest.json");
    if (std::find(manifest["architectures"].begin(), manifest["architectures"].end(),
                  decision.arch) == manifest["architectures"].end())
      manifest["architectures"].push_back(decision.arch);
    manifest["verified"].push_back(verification_json(latest));
  } else {
    manifest = build_manifest(task, variant, parsed.value(), candidate->defines, candidate, latest,
                              utc_now());
  }
  files::ensure_directory(folder);
  files::write_atomic(folder / "kernel.cu", candidate->source);
  write_json(folder / "manifest.json", manifest);
  if (decision.superseded) {
    nlohmann::json old = shipped->manifest;
    nlohmann::json kept = nlohmann::json::array();
    for (const nlohmann::json& arch : old["architectures"])
      if (arch != decision.arch)
        kept.push_back(arch);
    old["architectures"] = kept;
    if (!old.contains("superseded"))
      old["superseded"] = nlohmann::json::array();
    old["superseded"].push_back({{"arch", decision.arch}, {"by", variant}, {"date", utc_now()}});
    write_json(shipped->folder / "manifest.json", old);
  }
  write_library_readme(options_.library_root);

  decision.promoted = true;
  decision.library_path = folder;
  decision.reason = "speedup over eager " + number(*judged.speedup_eager) + " on " + decision.arch +
                    (decision.superseded ? ", replacing '" + *decision.superseded + "'" : "");
  record(store_, decision, candidate->task_id);
  return decision;
}

std::vector<int64_t> Promoter::best_candidates(const std::optional<std::string>& task) const {
  return list_best_candidates(store_, kHarnessVersion, task);
}

void write_library_readme(const fs::path& library_root) {
  std::vector<fs::path> manifests;
  std::error_code error;
  for (const auto& operation : fs::directory_iterator(library_root, error)) {
    if (!operation.is_directory())
      continue;
    for (const auto& variant : fs::directory_iterator(operation.path()))
      if (fs::exists(variant.path() / "manifest.json"))
        manifests.push_back(variant.path() / "manifest.json");
  }
  std::sort(manifests.begin(), manifests.end());
  std::ostringstream table;
  table << kTableStart << "\n"
        << "| operation | variant | task | arch | GPU | speedup vs eager | vs torch.compile | "
           "median us |\n|---|---|---|---|---|---|---|---|\n";
  for (const fs::path& path : manifests) {
    const nlohmann::json manifest = read_manifest(path);
    const std::string operation = path.parent_path().parent_path().filename().string();
    const std::string variant = path.parent_path().filename().string();
    const std::string task = manifest.value("task", nlohmann::json::object()).value("name", "");
    const nlohmann::json architectures = manifest.value("architectures", nlohmann::json::array());
    bool any = false;
    for (const nlohmann::json& verification : manifest.value("verified", nlohmann::json::array())) {
      const std::string arch = verification.value("arch", "");
      const bool current =
          std::find(architectures.begin(), architectures.end(), arch) != architectures.end();
      if (!current)
        continue;
      any = true;
      auto cell = [&](const char* key) {
        const nlohmann::json value = verification.value(key, nlohmann::json());
        return value.is_number() ? number(value.get<double>()) + "x" : std::string("-");
      };
      const std::optional<double> median =
          timing_value(verification.value("timing", nlohmann::json()), "median_us");
      table << "| " << operation << " | " << variant << " | " << task << " | " << arch << " | "
            << verification.value("gpu", "") << " | " << cell("speedup_eager") << " | "
            << cell("speedup_compile") << " | " << (median ? number(*median) : "-") << " |\n";
    }
    if (!any)
      table << "| " << operation << " | " << variant << " | " << task
            << " | - | - | not yet measured on a GPU | - | - |\n";
  }
  table << kTableEnd;

  const fs::path readme = library_root / "README.md";
  std::string text = fs::exists(readme) ? files::read(readme)
                                        : "# Shipped kernels\n\nWritten by `kforge promote` from "
                                          "the manifests; numbers are as measured.\n\n";
  const size_t start = text.find(kTableStart);
  const size_t end = text.find(kTableEnd);
  if (start != std::string::npos && end != std::string::npos && end > start)
    text.replace(start, end + std::string(kTableEnd).size() - start, table.str());
  else
    text += table.str() + "\n";
  files::write_atomic(readme, text);
}

}  // namespace kforge
