// kforge profile FILE.cu --task NAME [--arch sm_XX] [--json]: the expert's command. Evaluates the
// candidate through the one EvaluationService (verify, time, then the profile stage's counters;
// stored like `kforge eval`), then prints where the time of the plan goes, launch by launch, and
// the profile with its roofline and findings (harness/evaluation/profile_report.hpp).
//
// The file is a positional of the `profile` group itself, beside its subcommands `metrics` and
// `explain` (CLI11 takes a word that names a subcommand as the subcommand, so a candidate file
// called `metrics` or `explain` is given as ./metrics). Exits 0 whenever the tool worked: a
// candidate that was not profiled (no GPU, not correct, counters unavailable) says why.
#include "cli/commands.hpp"
#include "harness/evaluation/evaluation_service.hpp"
#include "harness/evaluation/evaluator.hpp"
#include "harness/evaluation/profile_report.hpp"
#include "harness/task_import.hpp"
#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "harness/util/formatted.hpp"
#include "harness/util/strings.hpp"

namespace kforge::cli {
namespace {

// A candidate file is small; anything larger than this is refused before it is read (the
// evaluator judges a source over its own, smaller limit `too_large`).
constexpr size_t kMaxProfiledFileBytes = size_t{256} << 20;

struct ProfileFileOptions {
  std::string file;
  std::string task;
  std::string arch;
  std::string profiler;  // profile.profiler
  bool json = false;
};

// Why a candidate has no profile: the profile stage's own detail where it was skipped, else that
// nothing ran on a GPU.
std::string why_not_profiled(const EvaluationOutcome& outcome) {
  for (const StageRecord& stage : outcome.stages) {
    if (stage.name == "profile")
      return stage.detail.empty() ? std::string(stage_status_name(stage.status)) : stage.detail;
  }
  if (outcome.verdict == Verdict::kCompiled)
    return "no GPU ran the candidate (compiled only)";
  return "the evaluation ended before the profile stage (" +
         std::string(verdict_name(outcome.verdict)) + ")";
}

void print_time_by_launch(const std::vector<LaunchTime>& launches) {
  print("where the time goes (the profiled pass, per launch of the plan):\n");
  print("  %-6s %-28s %12s %7s  %-8s %s\n", "launch", "kernel", "time", "share", "bound",
        "top finding");
  for (const LaunchTime& launch : launches) {
    std::string time = launch.time_ns ? formatted("%.4g us", *launch.time_ns / 1e3) : "-";
    std::string share = launch.share ? formatted("%.0f%%", *launch.share * 100) : "-";
    print("  %-6d %-28s %12s %7s  %-8s %s\n", launch.launch, launch.kernel.c_str(), time.c_str(),
          share.c_str(), std::string(bound_name(launch.bound)).c_str(),
          launch.top_finding.empty() ? "-" : launch.top_finding.c_str());
  }
}

void profile_file(const ProfileFileOptions& options, Context& context) {
  Workspace& workspace = context.workspace();
  apply_profiler_flag(workspace.config(), options.profiler);
  std::string source = files::read(options.file, kMaxProfiledFileBytes);
  std::string file_name = std::filesystem::path(options.file).filename().string();
  Task task = load_task(workspace, options.task,
                        [&context](const std::string& line) { context.progress(line); });
  EvaluationService service(workspace, {.arch = options.arch,
                                        .compile_workers = 1,
                                        .gpu_worker_command = context.options.gpu_worker_command});
  RunRow run{.kind = "profile",
             .request = {{"file", strings::to_valid_utf8(options.file)},
                         {"task", task.name},
                         {"arch", service.arch()}},
             .agent = "human"};
  RunEvaluation evaluation = service.evaluate_in_run(
      task, {.source = std::move(source), .file_name = strings::to_valid_utf8(file_name)},
      std::move(run));
  const EvaluationOutcome& outcome = *evaluation.outcome;
  std::optional<ProfileReport> profile = profile_report_of(outcome, task);
  std::vector<LaunchTime> launches = profile ? time_by_launch(*profile) : std::vector<LaunchTime>{};

  if (options.json) {
    nlohmann::json report = outcome.to_json();
    report["task"] = task.name;
    report["file"] = strings::to_valid_utf8(options.file);
    report["run_id"] = evaluation.run_id;
    report["profile"] = profile ? profile->to_json() : nlohmann::json();
    report["not_profiled"] =
        profile && profile->collected()
            ? nlohmann::json()
            : nlohmann::json(profile
                                 ? "unavailable: " + std::string(profile->counters.reason_name())
                                 : why_not_profiled(outcome));
    report["time_by_launch"] = nlohmann::json::array();
    for (const LaunchTime& launch : launches)
      report["time_by_launch"].push_back(launch.to_json());
    return Context::print_json(report);
  }
  print("kforge profile: %s on %s (%s)\n", options.file.c_str(), task.name.c_str(),
        service.arch().c_str());
  print("verdict: %s%s%s\n", std::string(verdict_name(outcome.verdict)).c_str(),
        outcome.reason.empty() ? "" : " ", outcome.reason.empty() ? "" : outcome.reason.c_str());
  if (!outcome.detail.empty())
    print("  %s\n", outcome.detail.c_str());
  if (outcome.device_time_us)
    print("device time: %.4g us (median of the timed iterations)\n", *outcome.device_time_us);
  if (!profile) {
    print("profile: none: %s\n", why_not_profiled(outcome).c_str());
  } else {
    if (profile->collected())
      print_time_by_launch(launches);
    print("%s", render_profile_text(*profile).c_str());
  }
  print("stored: candidate %lld, evaluation %lld in %s\n",
        static_cast<long long>(outcome.candidate_id), static_cast<long long>(outcome.evaluation_id),
        workspace.db_path().string().c_str());
}

}  // namespace

void add_profile_candidate(CLI::App& profile, Context& context) {
  auto options = std::make_shared<ProfileFileOptions>();
  profile.add_option("FILE", options->file,
                     "a candidate .cu file to evaluate and profile (with --task); or use a "
                     "subcommand");
  profile.add_option("--task", options->task, "the task to evaluate against, e.g. builtin/relu");
  profile.add_option("--arch", options->arch,
                     "architecture to compile for (default: the GPU's, else config `arch`)");
  add_profiler_flag(profile, options->profiler);
  profile.add_flag("--json", options->json, "print one JSON object");
  profile.callback([options, &context, &profile] {
    if (!profile.get_subcommands().empty())
      return;  // `profile metrics` or `profile explain` ran
    if (options->file.empty())
      throw CLI::RequiredError("FILE (a candidate .cu file) or a subcommand (metrics, explain)");
    if (options->task.empty())
      throw CLI::RequiredError("--task");
    profile_file(*options, context);
  });
}

}  // namespace kforge::cli
