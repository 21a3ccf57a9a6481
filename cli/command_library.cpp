// kforge library list | show NAME | verify [NAME] | seed-manifests  [--library DIR] [--json]
// The shipped kernel library: kernels/<operation>/<variant>/ (promoted) and
// kernels/seeds/<operation>/<variant>/ (hand-written seeds, not yet verified), each a kernel.cu
// and its manifest.json. `list`, `show` and `verify` see the workspace's own library
// (`library.dir`, where promote writes; where it exists) and beside it the kernels kforge ships
// (kernels/ of its source tree); with --library, that folder alone. `verify` checks each
// manifest against its task (signature, hashes, plan) and evaluates the kernel through the
// evaluation service: compile-only where there is no GPU (verdict `compiled`, nothing ran),
// verified and timed where one runs candidates.
#include <algorithm>
#include <cstdio>

#include "cli/commands.hpp"
#include "datasets/records.hpp"
#include "datasets/run_records.hpp"
#include "harness/autotune/library_tuning.hpp"
#include "harness/candidate/candidate_file.hpp"
#include "harness/evaluation/evaluation_service.hpp"
#include "harness/library/manifest.hpp"
#include "harness/library/promotion.hpp"
#include "harness/task_import.hpp"
#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "harness/util/strings.hpp"

namespace kforge::cli {
namespace {

namespace fs = std::filesystem;

// The kernels kforge ships: kernels/ of the source tree it was built from (KFORGE_SOURCE_DIR,
// cli/CMakeLists.txt), promoted ones and seeds/.
fs::path shipped_library_folder() {
  return fs::path(KFORGE_SOURCE_DIR) / "kernels";
}

struct LibraryOptions {
  std::string library;
  std::string name;
  bool json = false;
  autotune::TuneRequest tune;  // `library tune`: strategy, seed, budgets
};

// Where a kernel comes from: the workspace's own library (or --library), or kforge's.
constexpr const char* kWorkspaceLibrary = "workspace";
constexpr const char* kKforgeLibrary = "kforge";

struct Entry {
  std::string name;  // "softmax/online_block" or "seeds/softmax/online_block"
  bool seed = false;
  fs::path folder;
  nlohmann::json manifest;  // null when the folder has none
  std::string library = kWorkspaceLibrary;
};

void scan(const fs::path& root, const std::string& prefix, bool seed, std::vector<Entry>& out) {
  std::error_code error;
  if (!fs::is_directory(root, error))
    return;
  for (const auto& operation : fs::directory_iterator(root)) {
    if (!operation.is_directory())
      continue;
    for (const auto& variant : fs::directory_iterator(operation.path())) {
      if (!fs::exists(variant.path() / "kernel.cu"))
        continue;
      Entry entry{
          prefix + operation.path().filename().string() + "/" + variant.path().filename().string(),
          seed, variant.path(), nullptr};
      if (fs::exists(variant.path() / "manifest.json"))
        entry.manifest = read_manifest(variant.path() / "manifest.json");
      out.push_back(std::move(entry));
    }
  }
}

// A library folder's promoted kernels and its seeds, by name.
std::vector<Entry> scan_folder(const fs::path& root) {
  std::vector<Entry> entries;
  scan(root, "", false, entries);
  scan(root / "seeds", "seeds/", true, entries);
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.name < b.name; });
  return entries;
}

std::vector<Entry> scan_library(const fs::path& root) {
  std::error_code error;
  if (!fs::is_directory(root, error))
    throw Error("the kernel library folder does not exist (set library.dir or --library)",
                root.string());
  return scan_folder(root);
}

// The kernels `list`, `show` and `verify` see. With --library, that folder's alone (it must
// exist). Otherwise the workspace's library where it exists, and beside it the kernels kforge
// ships; a workspace kernel hides kforge's of the same name, and a workspace whose library is
// kforge's own folder (the source tree as workspace) sees it once, as kforge's.
std::vector<Entry> scan_libraries(Workspace& workspace, const std::string& flag) {
  const fs::path root = library_root(workspace, flag);
  const fs::path shipped = shipped_library_folder();
  std::error_code error;
  if (!flag.empty())
    return scan_library(root);
  std::vector<Entry> entries;
  if (!fs::equivalent(root, shipped, error))
    entries = scan_folder(root);
  for (Entry& entry : scan_folder(shipped)) {
    entry.library = kKforgeLibrary;
    if (std::none_of(entries.begin(), entries.end(),
                     [&](const Entry& other) { return other.name == entry.name; }))
      entries.push_back(std::move(entry));
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.name < b.name; });
  return entries;
}

nlohmann::json summary(const Entry& entry) {
  const nlohmann::json& manifest = entry.manifest;
  nlohmann::json json = {{"name", entry.name},
                         {"kind", entry.seed ? "seed" : "shipped"},
                         {"library", entry.library},
                         {"path", entry.folder.string()}};
  if (manifest.is_null()) {
    json["problem"] = "no manifest.json";
    return json;
  }
  json["task"] = manifest.value("task", nlohmann::json::object()).value("name", "");
  json["variant"] = manifest.value("variant", entry.folder.filename().string());
  json["architectures"] = manifest.value("architectures", nlohmann::json::array());
  json["verified"] = nlohmann::json::array();
  for (const nlohmann::json& verification : manifest.value("verified", nlohmann::json::array()))
    json["verified"].push_back(
        {{"arch", verification.value("arch", "")},
         {"gpu", verification.value("gpu", "")},
         {"speedup_eager", verification.value("speedup_eager", nlohmann::json())},
         {"speedup_compile", verification.value("speedup_compile", nlohmann::json())},
         {"median_us", verification.value("timing", nlohmann::json::object())
                           .value("median_us", nlohmann::json())}});
  return json;
}

std::string measured_text(const nlohmann::json& entry) {
  if (!entry.contains("verified") || entry["verified"].empty())
    return "not yet measured on a GPU";
  std::vector<std::string> parts;
  for (const nlohmann::json& verification : entry["verified"]) {
    std::string part =
        verification["arch"].get<std::string>() + " " + verification["gpu"].get<std::string>();
    if (verification["speedup_eager"].is_number())
      part += " " + std::to_string(verification["speedup_eager"].get<double>()).substr(0, 5) +
              "x eager";
    if (verification["speedup_compile"].is_number())
      part += " " + std::to_string(verification["speedup_compile"].get<double>()).substr(0, 5) +
              "x compile";
    parts.push_back(part);
  }
  return strings::join(parts, "; ");
}

const Entry& find_entry(const std::vector<Entry>& entries, const std::string& name) {
  for (const Entry& entry : entries)
    if (entry.name == name)
      return entry;
  std::vector<std::string> names;
  for (const Entry& entry : entries)
    names.push_back(entry.name);
  throw Error(strings::unknown_name_message("kernel", name, names), "kforge library");
}

void list(Context& context, const LibraryOptions& options) {
  const std::vector<Entry> entries = scan_libraries(context.workspace(), options.library);
  nlohmann::json kernels = nlohmann::json::array();
  for (const Entry& entry : entries)
    kernels.push_back(summary(entry));
  if (options.json)
    return Context::print_json({{"kernels", kernels}});
  print("%-44s %-8s %-10s %-32s %s\n", "kernel", "kind", "library", "task", "measured");
  for (const nlohmann::json& kernel : kernels)
    print("%-44s %-8s %-10s %-32s %s\n", kernel["name"].get<std::string>().c_str(),
          kernel["kind"].get<std::string>().c_str(), kernel["library"].get<std::string>().c_str(),
          kernel.value("task", "?").c_str(),
          kernel.contains("problem") ? kernel["problem"].get<std::string>().c_str()
                                     : measured_text(kernel).c_str());
}

void show(Context& context, const LibraryOptions& options) {
  const std::vector<Entry> entries = scan_libraries(context.workspace(), options.library);
  const Entry& entry = find_entry(entries, options.name);
  nlohmann::json json = summary(entry);
  json["manifest"] = entry.manifest;
  if (options.json)
    return Context::print_json(json);
  print("%s (%s, %s library) in %s\n", entry.name.c_str(), entry.seed ? "seed" : "shipped",
        entry.library.c_str(), entry.folder.string().c_str());
  print("task: %s\n", json.value("task", "?").c_str());
  print("measured: %s\n", measured_text(json).c_str());
  print("manifest:\n%s\n", entry.manifest.dump(2).c_str());
}

// `library tune NAME`: the tuner on the kernel's own file and task, the best point recorded in
// its manifest for the architecture compiled for (harness/autotune/library_tuning.hpp).
void tune_kernel(Context& context, const LibraryOptions& options) {
  Workspace& workspace = context.workspace();
  const std::vector<Entry> entries = scan_libraries(workspace, options.library);
  const Entry& entry = find_entry(entries, options.name);
  if (entry.manifest.is_null())
    throw Error("the kernel has no manifest.json, so its task is unknown", entry.name);
  const std::string task_name =
      entry.manifest.value("task", nlohmann::json::object()).value("name", "");
  Task task = load_task(workspace, task_name,
                        [&context](const std::string& line) { context.progress(line); });
  EvaluationService service(
      workspace, {.compile_workers = 1, .gpu_worker_command = context.options.gpu_worker_command});
  autotune::TuneReport report = autotune::tune_library_kernel(
      workspace.store(), service, task, entry.folder, options.tune,
      [&context](const autotune::TuneReport& so_far, const autotune::TunedPoint& latest) {
        context.progress("[" + std::to_string(so_far.points.size()) + "/" +
                         std::to_string(so_far.budget) + "] " +
                         nlohmann::json(latest.defines).dump() + ": " +
                         std::string(verdict_name(latest.verdict)));
      });
  std::vector<const autotune::TunedPoint*> ranked = report.ranked();
  if (options.json) {
    nlohmann::json json = report.to_json();
    json["kernel"] = entry.name;
    json["recorded"] = !ranked.empty();
    return Context::print_json(json);
  }
  if (ranked.empty())
    return print("%s: no point was correct in %zu; the manifest is unchanged\n", entry.name.c_str(),
                 report.points.size());
  print("%s on %s (%s): best %s at %.3f us after %zu points (run %lld); recorded in %s\n",
        entry.name.c_str(), report.gpu.c_str(), service.arch().c_str(),
        nlohmann::json(ranked.front()->defines).dump().c_str(), *ranked.front()->time_us,
        report.points.size(), static_cast<long long>(report.run_id),
        (entry.folder / "manifest.json").string().c_str());
}

void verify(Context& context, const LibraryOptions& options) {
  Workspace& workspace = context.workspace();
  std::vector<Entry> entries = scan_libraries(workspace, options.library);
  if (!options.name.empty())
    entries = {find_entry(entries, options.name)};

  EvaluationService service(
      workspace, {.compile_workers = 1, .gpu_worker_command = context.options.gpu_worker_command});
  Store& store = workspace.store();
  const int64_t run_id =
      insert_run(store, RunRow{.kind = "library-verify",
                               .request = {{"kernels", entries.size()}, {"arch", service.arch()}},
                               .config = workspace.config().to_json(),
                               .agent = "library",
                               .gpu = service.gpu_name()});
  Evaluator& evaluator = service.evaluator();

  nlohmann::json results = nlohmann::json::array();
  bool all_passed = true;
  for (const Entry& entry : entries) {
    nlohmann::json result = {
        {"name", entry.name}, {"library", entry.library}, {"problems", nlohmann::json::array()}};
    if (entry.manifest.is_null()) {
      result["problems"].push_back("no manifest.json");
    } else {
      const std::string task_name =
          entry.manifest.value("task", nlohmann::json::object()).value("name", "");
      context.progress("verifying " + entry.name + " against " + task_name);
      const std::string source = files::read(entry.folder / "kernel.cu");
      Task task = load_task(workspace, task_name,
                            [&context](const std::string& line) { context.progress(line); });
      for (const std::string& problem : check_manifest(entry.manifest, source, task))
        result["problems"].push_back(problem);
      std::map<std::string, std::string> defines;
      const nlohmann::json manifest_defines =
          entry.manifest.value("defines", nlohmann::json::object());
      for (const auto& [name, value] : manifest_defines.items())
        defines[name] = value.dump();
      const std::string origin =
          entry.manifest.value("provenance", nlohmann::json::object()).value("origin", "seed");
      EvaluationOutcome outcome =
          evaluator.evaluate(task, EvaluationRequest{.source = source,
                                                     .file_name = entry.name + "/kernel.cu",
                                                     .define_overrides = defines,
                                                     .origin = origin,
                                                     .run_id = run_id});
      result["task"] = task.name;
      result["verdict"] = verdict_name(outcome.verdict);
      result["reason"] = outcome.reason;
      result["detail"] = outcome.detail;
      result["candidate_id"] = outcome.candidate_id;
      result["nothing_ran"] = outcome.verdict == Verdict::kCompiled;
      if (outcome.verdict != Verdict::kCompiled && outcome.verdict != Verdict::kCorrect)
        result["problems"].push_back("verdict " + std::string(verdict_name(outcome.verdict)) +
                                     ": " + outcome.detail);
    }
    result["passed"] = result["problems"].empty();
    all_passed = all_passed && result["passed"].get<bool>();
    results.push_back(result);
  }
  finish_run(store, run_id, all_passed ? RunStatus::kCompleted : RunStatus::kFailed,
             {{"kernels", results.size()}, {"passed", all_passed}});

  const std::optional<std::string> gpu = service.gpu_name();
  if (options.json) {
    Context::print_json({{"arch", service.arch()},
                         {"gpu", gpu ? nlohmann::json(*gpu) : nlohmann::json()},
                         {"run_id", run_id},
                         {"kernels", results},
                         {"passed", all_passed}});
  } else {
    print("kforge library verify on %s (%s)\n", service.arch().c_str(),
          gpu ? gpu->c_str() : "no GPU: compile and bind only, nothing ran");
    for (const nlohmann::json& result : results) {
      print("  %-44s %-9s %s\n", result["name"].get<std::string>().c_str(),
            result.value("verdict", "-").c_str(), result["passed"].get<bool>() ? "ok" : "FAILED");
      for (const nlohmann::json& problem : result["problems"])
        print("      %s\n", problem.get<std::string>().c_str());
    }
  }
  if (!all_passed)
    throw CLI::RuntimeError(kExitError);
}

// Seeds are verified nowhere, so their manifests can be derived entirely from the kernel file
// and the task as it is today; this rewrites them (after a task or a seed changed).
void write_seed_manifests(Context& context, const LibraryOptions& options) {
  Workspace& workspace = context.workspace();
  const std::vector<Entry> entries = scan_library(library_root(workspace, options.library));
  nlohmann::json written = nlohmann::json::array();
  nlohmann::json unchanged = nlohmann::json::array();
  for (const Entry& entry : entries) {
    if (!entry.seed)
      continue;
    const std::string operation = entry.folder.parent_path().filename().string();
    Task task = load_task(workspace, "builtin/" + operation,
                          [&context](const std::string& line) { context.progress(line); });
    PlanResult<CandidateFile> parsed =
        parse_candidate(files::read(entry.folder / "kernel.cu"), entry.name + "/kernel.cu");
    if (!parsed.ok())
      throw Error(parsed.error().message(), entry.name);
    nlohmann::json defaults = nlohmann::json::object();
    for (const auto& [name, value] : choose_define_values(parsed.value().plan))
      defaults[name] = value;
    nlohmann::json manifest = build_manifest(task, entry.folder.filename().string(), parsed.value(),
                                             defaults, std::nullopt, std::nullopt, utc_now());
    const fs::path path = entry.folder / "manifest.json";
    // What the manifest there says of the same kernel stays: the points `library tune` recorded
    // (while the source is the one they were measured on) and, when nothing else changed, the
    // date, so that the file is left as it is. An unreadable manifest is simply replaced.
    const nlohmann::json existing = fs::exists(path)
                                        ? nlohmann::json::parse(files::read(path), nullptr, false)
                                        : nlohmann::json();
    if (existing.is_object()) {
      const nlohmann::json source = manifest["kernel"]["source_hash"];
      if (existing.contains("tuned") && existing.value("kernel", nlohmann::json()).is_object() &&
          existing["kernel"].value("source_hash", nlohmann::json()) == source)
        manifest["tuned"] = existing["tuned"];
      nlohmann::json dated = manifest;
      if (existing.value("provenance", nlohmann::json()).is_object() &&
          existing["provenance"].contains("date"))
        dated["provenance"]["date"] = existing["provenance"]["date"];
      if (dated == existing) {
        unchanged.push_back(entry.name);
        if (!options.json)
          print("unchanged %s\n", path.string().c_str());
        continue;
      }
    }
    files::write_atomic(path, manifest.dump(2) + "\n");
    written.push_back(entry.name);
    if (!options.json)
      print("wrote %s\n", path.string().c_str());
  }
  if (options.json)
    Context::print_json({{"written", written}, {"unchanged", unchanged}});
}

}  // namespace

void add_library_command(CLI::App& parent, Context& context) {
  auto* command =
      parent.add_subcommand("library", "the shipped kernel library: list, show, verify, tune");
  command->require_subcommand(1);
  auto options = std::make_shared<LibraryOptions>();
  auto common = [&](CLI::App* sub) {
    sub->add_option("--library", options->library,
                    "library folder (default: config library.dir, under the workspace)");
    sub->add_flag("--json", options->json, "print one JSON object");
  };
  auto* list_command = command->add_subcommand("list", "shipped and seed kernels, with numbers");
  common(list_command);
  list_command->callback([options, &context] { list(context, *options); });
  auto* show_command = command->add_subcommand("show", "one kernel and its manifest");
  show_command->add_option("name", options->name, "e.g. softmax/online_block")->required();
  common(show_command);
  show_command->callback([options, &context] { show(context, *options); });
  auto* verify_command = command->add_subcommand(
      "verify", "check every manifest against its task and evaluate every kernel");
  verify_command->add_option("name", options->name, "only this kernel");
  common(verify_command);
  verify_command->callback([options, &context] { verify(context, *options); });
  auto* tune_command = command->add_subcommand(
      "tune", "tune a kernel's defines for this GPU; record the best point in its manifest");
  tune_command->add_option("name", options->name, "e.g. softmax/online_block")->required();
  tune_command->add_option("--strategy", options->tune.strategy, "the tuning strategy (auto)");
  tune_command->add_option("--max-evals", options->tune.max_evals,
                           "points to evaluate at most (default 100)");
  tune_command->add_option("--time", options->tune.max_seconds, "wall-time budget in seconds");
  tune_command->add_option("--seed", options->tune.seed, "the strategy's seed (default 0)");
  common(tune_command);
  tune_command->callback([options, &context] { tune_kernel(context, *options); });
  auto* seeds_command = command->add_subcommand(
      "seed-manifests",
      "rewrite the seeds' manifests from their files and tasks (nothing verified); one that "
      "would not change is left as it is, and tuned points stay while the source is the same");
  common(seeds_command);
  seeds_command->callback([options, &context] { write_seed_manifests(context, *options); });
}

}  // namespace kforge::cli
