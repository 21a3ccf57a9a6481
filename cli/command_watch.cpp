// kforge watch FILE.cu --task NAME [--arch sm_XX] [--debounce-ms MS] [--json]
// Evaluates the file now and again after every save, through the same evaluation service as
// `kforge eval`, and prints one line per result with the change against the one before (verdict,
// median device time, speedup over eager) or the compile errors as file:line:column. Saves are
// seen through inotify on the file's folder (editors replace the file by a rename); a burst of
// saves within the debounce time is one evaluation, and saves during an evaluation queue exactly
// one more. Every version with new content is stored as a candidate (origin human) of one run of
// kind `watch`, each the child of the version before, so the session is a trajectory in the
// store. Ctrl-C or SIGTERM ends it cleanly (exit 0, the run completed). A profiled version's line
// ends with the profile's top finding (harness/evaluation/profile_report.hpp), or that counters
// were unavailable and why.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <optional>

#include "cli/commands.hpp"
#include "cli/file_watcher.hpp"
#include "cli/stop_signals.hpp"
#include "datasets/records.hpp"
#include "datasets/run_records.hpp"
#include "harness/evaluation/evaluation_service.hpp"
#include "harness/evaluation/evaluator.hpp"
#include "harness/evaluation/profile_report.hpp"
#include "harness/task_import.hpp"
#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "harness/util/hash.hpp"
#include "harness/util/json_text.hpp"
#include "harness/util/strings.hpp"
#include "sandbox/compile_diagnostics.hpp"

namespace kforge::cli {
namespace {

// The largest file watch reads, as `eval`: past the source limit a version is judged too_large.
constexpr size_t kMaxWatchedFileBytes = size_t{256} << 20;
// Compile errors shown per version.
constexpr size_t kErrorsShown = 3;

struct WatchOptions {
  std::string file;
  std::string task;
  std::string arch;
  int64_t debounce_ms = 300;
  bool json = false;
};

// What one version's line compares against.
struct VersionResult {
  int64_t version = 0;
  int64_t candidate_id = 0;
  Verdict verdict = Verdict::kCompiled;
  std::optional<double> median_us;
  std::optional<double> speedup;
};

std::string format(const char* pattern, double value) {
  char text[64];
  std::snprintf(text, sizeof(text), pattern, value);
  return text;
}

std::string clock_text() {
  std::time_t now = std::time(nullptr);
  char text[16];
  std::strftime(text, sizeof(text), "%H:%M:%S", std::localtime(&now));
  return text;
}

std::vector<std::string> error_lines(const EvaluationOutcome& outcome) {
  std::vector<std::string> lines;
  if (!outcome.compile)
    return lines;
  for (const CompileDiagnostic& diagnostic : compile_diagnostics(outcome.compile->log)) {
    if (diagnostic.severity == "warning" || diagnostic.severity == "remark")
      continue;
    lines.push_back(diagnostic.to_string());
    if (lines.size() == kErrorsShown)
      break;
  }
  return lines;
}

// The finding with the most to gain over the profile's launches, with its kernel; none where
// counters were not collected or nothing was found.
std::optional<std::pair<const Finding*, std::string>> top_finding(const ProfileReport& report) {
  std::optional<std::pair<const Finding*, std::string>> top;
  for (const Diagnosis& diagnosis : report.diagnoses) {
    if (!diagnosis.findings.empty() && (!top || diagnosis.findings.front().gain > top->first->gain))
      top = std::pair{&diagnosis.findings.front(), diagnosis.kernel};
  }
  return top;
}

// What the result line says of the profile: the top finding with its evidence, that counters
// were unavailable and why, or nothing where the candidate was not profiled.
std::string profile_text(const std::optional<ProfileReport>& report) {
  if (!report)
    return "";
  if (!report->collected())
    return "  profile unavailable (" + std::string(report->counters.reason_name()) + ")";
  auto top = top_finding(*report);
  if (!top)
    return "  profile: no findings";
  return "  top finding: " + std::string(finding_kind_name(top->first->kind)) + " in " +
         top->second + ": " + top->first->evidence;
}

// One line: the version, its verdict and numbers, and how they moved since the previous one.
std::string result_line(const VersionResult& now, const std::optional<VersionResult>& before,
                        const EvaluationOutcome& outcome, const std::vector<std::string>& errors) {
  std::string line = "v" + std::to_string(now.version) + " " + clock_text() + " " +
                     std::string(verdict_name(now.verdict));
  if (!outcome.reason.empty() && now.verdict != Verdict::kCorrect)
    line += " (" + outcome.reason + ")";
  if (before && before->verdict != now.verdict)
    line += " [was " + std::string(verdict_name(before->verdict)) + "]";
  if (now.median_us) {
    line += "  median " + format("%.3f", *now.median_us) + " us";
    if (before && before->median_us && *before->median_us > 0)
      line += " (" + format("%+.1f", 100.0 * (*now.median_us / *before->median_us - 1.0)) + "%)";
  }
  if (now.speedup) {
    line += "  speedup " + format("%.2f", *now.speedup) + "x";
    if (before && before->speedup)
      line += " (was " + format("%.2f", *before->speedup) + "x)";
  }
  if (!errors.empty())
    line += "  " + strings::join(errors, "; ");
  else if (now.verdict != Verdict::kCorrect && !outcome.detail.empty())
    line += "  " + outcome.detail;
  return line + "  #" + std::to_string(now.candidate_id);
}

void run_watch(const WatchOptions& options, Context& context) {
  Workspace& workspace = context.workspace();
  std::filesystem::path file = options.file;
  std::string file_name = strings::to_valid_utf8(file.filename().string());
  // The file must be there at the start (a typo is an error, not an empty watch).
  std::string source = files::read(file, kMaxWatchedFileBytes);
  Task task = load_task(workspace, options.task,
                        [&context](const std::string& line) { context.progress(line); });
  FileWatcher watcher(file);
  EvaluationService service(workspace, {.arch = options.arch,
                                        .compile_workers = 1,
                                        .gpu_worker_command = context.options.gpu_worker_command});

  Store& store = workspace.store();
  RunRow run{.kind = "watch",
             .request = {{"file", strings::to_valid_utf8(options.file)},
                         {"task", task.name},
                         {"arch", service.arch()},
                         {"debounce_ms", options.debounce_ms}},
             .config = workspace.config().to_json(),
             .agent = "human",
             .gpu = service.gpu_name()};
  int64_t run_id = insert_run(store, run);
  context.progress("watching " + options.file + " for " + task.name + " (run " +
                   std::to_string(run_id) + "); Ctrl-C ends");

  StopSignals signals;
  std::optional<VersionResult> last;
  std::string last_hash;
  int64_t versions = 0;
  auto evaluate = [&](std::string text) {
    std::string hash = sha256_hex(text);
    if (hash == last_hash)
      return;  // saved without a change: not a new version
    last_hash = hash;
    EvaluationRequest request{.source = std::move(text),
                              .file_name = file_name,
                              .origin = "human",
                              .run_id = run_id,
                              .iteration = versions + 1};
    if (last)
      request.parent_id = last->candidate_id;
    EvaluationOutcome outcome = service.evaluator().evaluate(task, request);
    ++versions;
    VersionResult now{.version = versions,
                      .candidate_id = outcome.candidate_id,
                      .verdict = outcome.verdict,
                      .speedup = outcome.speedup_eager};
    if (outcome.timing)
      now.median_us = outcome.timing->statistics.median_us;
    std::vector<std::string> errors = error_lines(outcome);
    std::optional<ProfileReport> profile = profile_report_of(outcome, task);
    if (options.json) {
      nlohmann::json line = {{"version", now.version},
                             {"candidate_id", now.candidate_id},
                             {"verdict", verdict_name(now.verdict)},
                             {"reason", outcome.reason},
                             {"errors", errors}};
      line["median_us"] = now.median_us ? nlohmann::json(*now.median_us) : nlohmann::json();
      line["speedup"] = now.speedup ? nlohmann::json(*now.speedup) : nlohmann::json();
      line["profile_status"] = profile
                                   ? nlohmann::json(profile_status_name(profile->counters.status))
                                   : nlohmann::json();
      line["top_finding"] = nlohmann::json();
      if (auto top = profile ? top_finding(*profile) : std::nullopt) {
        line["top_finding"] = top->first->to_json();
        line["top_finding"]["kernel"] = top->second;
      }
      if (last)
        line["previous"] = {
            {"version", last->version},
            {"verdict", verdict_name(last->verdict)},
            {"median_us", last->median_us ? nlohmann::json(*last->median_us) : nlohmann::json()},
            {"speedup", last->speedup ? nlohmann::json(*last->speedup) : nlohmann::json()}};
      std::printf("%s\n", json_text(line).c_str());
    } else {
      print("%s%s\n", result_line(now, last, outcome, errors).c_str(),
            profile_text(profile).c_str());
    }
    std::fflush(stdout);
    last = now;
  };

  auto finish = [&](RunStatus status, nlohmann::json summary) {
    summary["versions"] = versions;
    if (last)
      summary["last"] = {{"candidate_id", last->candidate_id},
                         {"verdict", verdict_name(last->verdict)}};
    finish_run(store, run_id, status, summary);
  };
  try {
    evaluate(std::move(source));
    const auto debounce = std::chrono::milliseconds(options.debounce_ms);
    std::optional<std::chrono::steady_clock::time_point> pending;  // the latest unhandled save
    while (!stop_requested().load()) {
      // Waits in short steps so that a signal between checks is seen within one.
      if (watcher.wait_for_save(pending ? debounce : std::chrono::milliseconds(500))) {
        pending = std::chrono::steady_clock::now();
        continue;
      }
      if (!pending || std::chrono::steady_clock::now() - *pending < debounce ||
          stop_requested().load())
        continue;
      pending.reset();
      std::string text;
      try {
        text = files::read(file, kMaxWatchedFileBytes);
      } catch (const Error& failure) {
        // Between an editor's write and its rename, or deleted: wait for the next save.
        context.progress("kforge: cannot read " + options.file + " now (" + failure.message() +
                         "); waiting for the next save");
        continue;
      }
      evaluate(std::move(text));
    }
  } catch (const Error& failure) {
    try {
      finish(RunStatus::kFailed, {{"error", failure.what()}});
    } catch (const Error&) {
    }
    throw;
  }
  finish(RunStatus::kCompleted, nlohmann::json::object());
  context.progress("stopped after " + std::to_string(versions) + " version" +
                   (versions == 1 ? "" : "s") + " (run " + std::to_string(run_id) + ")");
}

}  // namespace

void add_watch_command(CLI::App& parent, Context& context) {
  auto* command = parent.add_subcommand(
      "watch",
      "evaluate a candidate file now and after every save, printing one line per version "
      "with the change against the one before; every version is stored");
  auto options = std::make_shared<WatchOptions>();
  command->add_option("file", options->file, "candidate .cu file with a kforge:launch plan")
      ->required();
  command->add_option("--task", options->task, "task to evaluate against, e.g. builtin/softmax")
      ->required();
  command->add_option("--arch", options->arch,
                      "architecture to compile for (default: the GPU's, else config `arch`)");
  command
      ->add_option("--debounce-ms", options->debounce_ms,
                   "saves this close together are one evaluation (default 300)")
      ->check(CLI::Range(int64_t{0}, int64_t{60000}));
  command->add_flag("--json", options->json, "print one JSON object per version (JSON lines)");
  command->callback([options, &context] { run_watch(*options, context); });
}

}  // namespace kforge::cli
