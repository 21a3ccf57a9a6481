// kforge eval FILE.cu --task NAME [--arch sm_XX] [--define K=V]... [--json]
// Evaluates one candidate file: parse, compile, bind at every shape, and (on a GPU) verify and
// time. Stores the candidate and its evaluation. Exits 0 whenever the tool worked, whatever the
// verdict: a bad candidate is a result, not a failure of kforge.
#include <cctype>
#include <charconv>
#include <cstdio>
#include <thread>

#include "cli/commands.hpp"
#include "datasets/records.hpp"
#include "harness/candidate/candidate_file.hpp"
#include "harness/candidate/plan_validation.hpp"
#include "harness/evaluation/evaluation_service.hpp"
#include "harness/evaluation/evaluator.hpp"
#include "harness/evaluation/profile_report.hpp"
#include "harness/options/gpu_worker_options.hpp"
#include "harness/task_import.hpp"
#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "harness/util/strings.hpp"
#include "sandbox/source_policy.hpp"

namespace kforge::cli {
namespace {

// The largest candidate file `eval` reads at all. A candidate's source limit is far smaller
// (sandbox/source_policy.hpp); anything between the two gets its `too_large` verdict.
constexpr size_t kMaxCandidateFileBytes = size_t{256} << 20;

struct EvalOptions {
  std::string file;
  std::string task;
  std::string arch;
  std::string gpus;      // gpu.devices
  std::string profiler;  // profile.profiler
  std::vector<std::string> defines;
  std::string origin = "human";
  bool json = false;
};

// `--define NAME=VALUE`s; a malformed one is a usage error (exit 2), never a stored verdict.
std::map<std::string, std::string> parse_defines(const std::vector<std::string>& defines) {
  std::map<std::string, std::string> parsed;
  for (const std::string& define : defines) {
    size_t equals = define.find('=');
    if (equals == std::string::npos || equals == 0)
      throw CLI::ValidationError("--define", "a define must be NAME=VALUE, not '" + define + "'");
    std::string name = define.substr(0, equals);
    std::string value = define.substr(equals + 1);
    bool identifier = std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_';
    for (unsigned char c : name)
      identifier = identifier && (std::isalnum(c) || c == '_');
    if (!identifier)
      throw CLI::ValidationError("--define", "define name '" + name + "' is not a C identifier");
    int64_t number = 0;
    auto [end, status] = std::from_chars(value.data(), value.data() + value.size(), number);
    if (value.empty() || status != std::errc() || end != value.data() + value.size())
      throw CLI::ValidationError(
          "--define", "the value '" + value + "' of define " + name + " is not a 64-bit integer");
    if (!parsed.emplace(name, value).second)
      throw CLI::ValidationError("--define", "define " + name + " is given twice");
  }
  return parsed;
}

// The names of `defines` checked against the candidate's plan, when it has a readable one (a
// candidate whose plan is broken gets its plan_error verdict instead).
void check_define_names(const std::string& source, const std::string& file_name,
                        const std::map<std::string, std::string>& defines) {
  if (defines.empty() || check_source_text(source, file_name))
    return;
  auto candidate = parse_candidate(source, file_name);
  if (!candidate.ok())
    return;
  try {
    choose_define_values(candidate.value().plan, defines);
  } catch (const PlanError& error) {
    throw CLI::ValidationError("--define", error.message());
  }
}

std::string resource_text(int64_t value) {
  return value < 0 ? "-" : std::to_string(value);
}

std::string number_text(std::optional<double> value, const char* format) {
  if (!value)
    return "-";
  char text[64];
  std::snprintf(text, sizeof(text), format, *value);
  return text;
}

// What ran on the GPU: every check by seed and shape, the timing statistics, the physical
// floor, the baselines and speedups.
void print_gpu_report(const EvaluationOutcome& outcome) {
  const EvidenceRecord& evidence = outcome.evidence;
  const RunEnvironment& environment = outcome.environment;
  print("gpu: %s (driver %s, CUDA %s, torch %s, reference on %s)\n", outcome.gpu.c_str(),
        environment.driver.c_str(), environment.cuda.c_str(), environment.torch.c_str(),
        environment.reference_device.c_str());
  if (evidence.verification) {
    const VerificationRecord& verification = *evidence.verification;
    print("checks (tolerance atol %s, rtol %s):\n", number_text(verification.atol, "%g").c_str(),
          number_text(verification.rtol, "%g").c_str());
    for (const CheckRecord& check : verification.checks) {
      std::string seed = std::to_string(check.seed);
      if (check.timed)
        seed += " (timed)";
      print("  seed %-12s %-10s %-7s max abs %-10s max rel %-10s mismatches %lld", seed.c_str(),
            check.shape.c_str(), check.passed ? "passed" : "FAILED",
            number_text(check.max_abs_error, "%.3g").c_str(),
            number_text(check.max_rel_error, "%.3g").c_str(),
            static_cast<long long>(check.mismatch_count.value_or(0)));
      if (!check.passed && check.reason)
        print("  %s", check.reason->c_str());
      print("\n");
      if (!check.passed && check.evidence.contains("first_mismatches")) {
        for (const auto& mismatch : check.evidence["first_mismatches"]) {
          print("      %s%s: got %s, expected %s\n", check.evidence.value("output", "").c_str(),
                mismatch["index"].dump().c_str(), mismatch["actual"].dump().c_str(),
                mismatch["expected"].dump().c_str());
        }
      }
    }
  }
  if (outcome.timing) {
    const TimingRecord& timing = *outcome.timing;
    const TimingStatistics& statistics = timing.statistics;
    print(
        "timing: median %s us, min %s, p10 %s, p90 %s, mean %s, cv %s, span %s us; %lld samples, "
        "%lld kernels per iteration%s\n",
        number_text(statistics.median_us, "%.3f").c_str(),
        number_text(statistics.min_us, "%.3f").c_str(),
        number_text(statistics.p10_us, "%.3f").c_str(),
        number_text(statistics.p90_us, "%.3f").c_str(),
        number_text(statistics.mean_us, "%.3f").c_str(), number_text(statistics.cv, "%.4f").c_str(),
        number_text(timing.span_us, "%.3f").c_str(), static_cast<long long>(statistics.count),
        static_cast<long long>(timing.kernels_per_iteration),
        timing.hit_time_cap ? " (stopped at the time cap)" : "");
  }
  if (evidence.floor) {
    const FloorRecord& floor = *evidence.floor;
    print("physical floor: %s us (%s bytes, %s FLOPs); fraction of floor reached %s\n",
          number_text(floor.floor_us, "%.3f").c_str(), number_text(floor.bytes, "%.0f").c_str(),
          number_text(floor.flops, "%.0f").c_str(),
          number_text(floor.fraction_of_floor, "%.3f").c_str());
    print("  FLOPs: %s\n", floor.flops_counted.c_str());
    print("  peak: %s\n", floor.peak_basis.c_str());
  }
  if (evidence.baselines) {
    const BaselinesRecord& baselines = *evidence.baselines;
    if (baselines.error) {
      print("baselines: none (%s)\n", baselines.error->c_str());
    } else {
      auto speedup = [](const std::optional<double>& value) {
        return value ? number_text(*value, "%.2fx") : std::string("-");
      };
      print(
          "baselines (torch %s%s): eager %s us (speedup %s), torch.compile %s us "
          "(speedup %s)\n",
          baselines.torch_version.c_str(), baselines.cached ? ", from the store" : "",
          number_text(baselines.eager_us, "%.3f").c_str(), speedup(outcome.speedup_eager).c_str(),
          number_text(baselines.compile_us, "%.3f").c_str(),
          speedup(outcome.speedup_compile).c_str());
      if (baselines.compile_error)
        print("  torch.compile: %s\n", baselines.compile_error->dump().c_str());
    }
  }
}

void print_report(const EvalOptions& options, const Task& task, const EvaluationOutcome& outcome,
                  const std::string& db_path) {
  print("kforge eval: %s on %s (%s)\n", options.file.c_str(), task.name.c_str(),
        outcome.arch.c_str());
  print("verdict: %s (%s)\n", std::string(verdict_name(outcome.verdict)).c_str(),
        outcome.reason.c_str());
  if (!outcome.detail.empty())
    print("  %s\n", outcome.detail.c_str());
  print("stages:\n");
  for (const StageRecord& stage : outcome.stages) {
    print("  %-8s %-8s %9.1f ms  %s\n", stage.name.c_str(),
          std::string(stage_status_name(stage.status)).c_str(), stage.ms,
          stage.status == StageStatus::kFailed ? "" : stage.detail.c_str());
  }
  if (!outcome.defines.empty()) {
    std::vector<std::string> parts;
    for (const auto& [name, value] : outcome.defines)
      parts.push_back(name + "=" + std::to_string(value));
    print("defines: %s\n", strings::join(parts, " ").c_str());
  }
  if (outcome.compile) {
    const CompileResult& compile = *outcome.compile;
    print("compile: %s, NVRTC %s, %.1f ms%s\n",
          std::string(compile_status_name(compile.status)).c_str(), compile.nvrtc_version.c_str(),
          compile.compile_ms, compile.from_cache ? " (cache hit)" : "");
    if (!compile.kernels.empty()) {
      print("  %-28s %5s %8s %7s %7s %7s %8s\n", "kernel", "regs", "smem", "stack", "spill-st",
            "spill-ld", "local");
      for (const KernelResources& kernel : compile.kernels) {
        print("  %-28s %5s %8s %7s %7s %7s %8s\n", kernel.name.c_str(),
              resource_text(kernel.registers).c_str(), resource_text(kernel.shared_bytes).c_str(),
              resource_text(kernel.stack_frame_bytes).c_str(),
              resource_text(kernel.spill_store_bytes).c_str(),
              resource_text(kernel.spill_load_bytes).c_str(),
              resource_text(kernel.local_bytes).c_str());
      }
    }
    if (!compile.ok() && !compile.log.empty()) {
      print("log (excerpt):\n%s\n", files::tail(compile.log, 2000).c_str());
    }
  }
  if (outcome.evidence.bindings) {
    for (const auto& [shape, binding] : outcome.evidence.bindings->items()) {
      for (const auto& launch : binding["launches"]) {
        print("  %-10s %-24s grid %s block %s smem %lld\n", shape.c_str(),
              launch["kernel"].get<std::string>().c_str(), launch["grid"].dump().c_str(),
              launch["block"].dump().c_str(),
              static_cast<long long>(launch["shared_bytes"].get<int64_t>()));
      }
    }
  }
  if (!outcome.gpu.empty())
    print_gpu_report(outcome);
  if (std::optional<ProfileReport> profile = profile_report_of(outcome, task))
    print("%s", render_profile_text(*profile).c_str());
  print("stored: candidate %lld, evaluation %lld in %s\n",
        static_cast<long long>(outcome.candidate_id), static_cast<long long>(outcome.evaluation_id),
        db_path.c_str());
}

}  // namespace

void add_eval_command(CLI::App& parent, Context& context) {
  auto* command = parent.add_subcommand(
      "eval", "compile, check and (on a GPU) verify and time one candidate file; store the result");
  auto options = std::make_shared<EvalOptions>();
  command->add_option("file", options->file, "candidate .cu file with a kforge:launch plan")
      ->required();
  command->add_option("--task", options->task, "task to evaluate against, e.g. builtin/softmax")
      ->required();
  command->add_option("--arch", options->arch,
                      "architecture to compile for (default: the GPU's, else config `arch`)");
  command->add_option("--gpus", options->gpus,
                      "GPUs the candidate may run on (sets gpu.devices): all, or ordinals such as "
                      "1 or 0,2; the first free one runs it");
  add_profiler_flag(*command, options->profiler);
  command->add_option("--define", options->defines, "override a define: NAME=VALUE (repeatable)");
  command->add_option("--origin", options->origin, "where the candidate came from")
      ->check(CLI::IsMember({"human", "llm", "tune", "replay", "seed"}));
  command->add_flag("--json", options->json, "print one JSON object");
  command->callback([options, &context] {
    Workspace& workspace = context.workspace();
    if (!options->gpus.empty())
      workspace.config().set(kGpuDevicesKey, options->gpus);
    apply_profiler_flag(workspace.config(), options->profiler);
    auto defines = parse_defines(options->defines);
    // A FIFO, a device or a file past any plausible candidate is refused before it is read;
    // a file over the source limit but under this is read, and judged `too_large` unparsed.
    std::string source = files::read(options->file, kMaxCandidateFileBytes);
    std::string file_name = std::filesystem::path(options->file).filename().string();
    check_define_names(source, file_name, defines);
    Task task = load_task(workspace, options->task,
                          [&context](const std::string& line) { context.progress(line); });

    EvaluationService service(workspace,
                              {.arch = options->arch,
                               .compile_workers = 1,
                               .gpu_worker_command = context.options.gpu_worker_command});

    RunRow run{.kind = "eval",
               .request = {{"file", strings::to_valid_utf8(options->file)},
                           {"task", task.name},
                           {"defines", defines},
                           {"arch", service.arch()}},
               .agent = "human"};
    EvaluationRequest request{.source = std::move(source),
                              .file_name = strings::to_valid_utf8(file_name),
                              .define_overrides = defines,
                              .origin = options->origin};
    RunEvaluation evaluation = service.evaluate_in_run(task, std::move(request), std::move(run));
    const int64_t run_id = evaluation.run_id;
    const EvaluationOutcome& outcome = *evaluation.outcome;

    if (options->json) {
      nlohmann::json report = outcome.to_json();
      report["task"] = task.name;
      report["file"] = strings::to_valid_utf8(options->file);
      report["run_id"] = run_id;
      report["nothing_ran"] = outcome.verdict == Verdict::kCompiled;
      std::optional<ProfileReport> profile = profile_report_of(outcome, task);
      report["profile"] = profile ? profile->to_json() : nlohmann::json();
      return Context::print_json(report);
    }
    print_report(*options, task, outcome, workspace.db_path().string());
  });
}

}  // namespace kforge::cli
