#include "harness/reference_runner.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "harness/util/embedded.hpp"
#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "harness/util/hash.hpp"
#include "harness/util/name_table.hpp"
#include "harness/util/strings.hpp"
#include "harness/util/subprocess.hpp"
#include "harness/workspace.hpp"

namespace kforge {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kScriptPath = "harness/reference/kforge_reference.py";
// Tasks per runner process during analysis: enough to pay for torch's import several times
// over, few enough that progress lines keep coming and a crash costs little.
constexpr size_t kTasksPerProcess = 6;

std::string last_line(const std::string& text) {
  auto lines = strings::split(std::string(strings::trim(text)), '\n');
  return lines.empty() ? std::string() : std::string(strings::trim(lines.back()));
}

// Why an interpreter is unusable, or nullopt and its torch version and whether torch sees CUDA.
std::optional<std::string> probe(const fs::path& python, std::string& torch_version,
                                 bool& cuda_available,
                                 const std::vector<std::string>& refused_environment) {
  ProcessSpec spec;
  spec.minimal_environment = true;  // as the runner itself will run
  spec.refused_environment = refused_environment;
  spec.own_process_group = true;
  spec.program = python;
  spec.arguments = {"-c",
                    "import torch; print(torch.cuda.is_available()); print(torch.__version__)"};
  spec.time_limit = std::chrono::seconds(180);
  ProcessResult result;
  try {
    result = run_process(spec);
  } catch (const Error& failure) {
    return failure.message();
  }
  if (!result.succeeded()) {
    std::string why = last_line(result.standard_error);
    return "cannot import torch (" + result.describe_end() + (why.empty() ? "" : ": " + why) + ")";
  }
  auto lines = strings::split(std::string(strings::trim(result.standard_output)), '\n');
  torch_version = last_line(result.standard_output);
  cuda_available = lines.size() >= 2 && strings::trim(lines[lines.size() - 2]) == "True";
  return std::nullopt;
}

std::string file_stamp(const fs::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0)
    return {};
  return std::to_string(info.st_mtim.tv_sec) + "." + std::to_string(info.st_mtim.tv_nsec) + ":" +
         std::to_string(info.st_size) + ":" + std::to_string(info.st_ino);
}

// A failure reply as the runner sent it; a kind the script never gives is the bridge's Error.
ReferenceFailure failure_from_reply(const nlohmann::json& reply) {
  ReferenceFailure failure;
  const auto& error = reply.contains("error") ? reply["error"] : nlohmann::json::object();
  const std::string kind = error.value("kind", "unknown");
  const std::optional<ReferenceFailureKind> known = reference_failure_kind_named(kind);
  if (!known)
    throw Error("the reference runner replied with an unknown failure kind '" + kind + "'",
                "reference runner reply for " + reply.value("name", std::string("a task")));
  failure.kind = *known;
  failure.message = error.value("message", "the reference runner failed without saying why");
  failure.traceback = error.value("traceback", "");
  return failure;
}

unsigned worker_count(int jobs) {
  if (jobs > 0)
    return static_cast<unsigned>(jobs);
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

std::string ReferenceFailure::describe() const {
  std::string text = message;
  if (!traceback.empty()) {
    for (const std::string& line : strings::split(traceback, '\n'))
      text += "\n    " + line;
  }
  return text;
}

ReferenceRunner::ReferenceRunner(ReferenceRunnerOptions options) : options_(std::move(options)) {}

ReferenceRunner ReferenceRunner::for_workspace(const Workspace& workspace) {
  ReferenceRunnerOptions options;
  // kforge.toml or --python, else $KFORGE_PYTHON (read by the configuration).
  std::string configured = workspace.config().string("python");
  if (!configured.empty())
    options.python = configured;
  options.timeout_s = static_cast<int>(workspace.config().integer("reference.timeout_s"));
  options.jobs = static_cast<int>(workspace.config().integer("reference.jobs"));
  options.memory_mb = workspace.config().integer("reference.memory_mb");
  if (options.memory_mb == 0) {
    long pages = ::sysconf(_SC_PHYS_PAGES);
    long page_size = ::sysconf(_SC_PAGESIZE);
    if (pages > 0 && page_size > 0)
      options.memory_mb = static_cast<int64_t>(pages) * page_size / 2 / (1 << 20);
  }
  std::string key_variable = workspace.config().string("llm.api_key_env");
  if (!key_variable.empty())
    options.refused_environment.push_back(key_variable);
  options.cache_dir = workspace.cache_dir("reference");
  return ReferenceRunner(options);
}

const std::string& ReferenceRunner::script_source() {
  static const std::string source = [] {
    auto found = embedded::find(kScriptPath);
    if (!found)
      throw Error("the reference runner is not embedded in this binary", std::string(kScriptPath));
    return std::string(*found);
  }();
  return source;
}

const std::string& ReferenceRunner::script_hash() {
  static const std::string hash = sha256_hex(script_source());
  return hash;
}

fs::path ReferenceRunner::script_path() {
  fs::path dir = options_.cache_dir / "runner";
  files::ensure_directory(dir);
  fs::path path = dir / ("kforge_reference-" + script_hash().substr(0, 16) + ".py");
  // The file is a cache of the embedded script: checked against its hash before every use, and
  // written again when it is missing or differs (edited, truncated), so what runs is always
  // the script this kforge was built with.
  std::error_code failure;
  bool intact = fs::exists(path, failure) && sha256_hex(files::read(path)) == script_hash();
  if (!intact)
    files::write_atomic(path, script_source());
  return path;
}

const PythonInterpreter& ReferenceRunner::python() {
  if (python_)
    return *python_;
  std::vector<std::string> candidates;
  if (options_.python) {
    candidates.push_back(*options_.python);
  } else {
    candidates = {"python3", "/usr/bin/python3", "python"};
  }
  // A probe imports torch (seconds); remember interpreters that passed, keyed by their file.
  fs::path known_path = options_.cache_dir / "interpreters.json";
  nlohmann::json known = nlohmann::json::object();
  if (fs::exists(known_path)) {
    known = nlohmann::json::parse(files::read(known_path), nullptr, false);
    if (!known.is_object())
      known = nlohmann::json::object();
  }
  std::vector<std::string> tried;
  for (const std::string& candidate : candidates) {
    auto found = find_on_path(candidate);
    if (!found) {
      tried.push_back(candidate + ": not found" +
                      (candidate.find('/') == std::string::npos ? " on PATH" : ""));
      continue;
    }
    std::error_code ignored;
    fs::path resolved = fs::canonical(*found, ignored);
    std::string stamp = file_stamp(resolved.empty() ? *found : resolved);
    std::string key = found->string();
    if (known.contains(key) && known[key].value("stamp", "") == stamp &&
        known[key].contains("cuda_available")) {
      python_ = PythonInterpreter{*found, known[key].value("torch_version", ""),
                                  known[key].value("cuda_available", false)};
      return *python_;
    }
    std::string torch_version;
    bool cuda_available = false;
    if (auto why = probe(*found, torch_version, cuda_available, options_.refused_environment)) {
      tried.push_back(candidate + " (" + found->string() + "): " + *why);
      continue;
    }
    known[key] = {
        {"stamp", stamp}, {"torch_version", torch_version}, {"cuda_available", cuda_available}};
    files::write_atomic(known_path, known.dump(2));
    python_ = PythonInterpreter{*found, torch_version, cuda_available};
    return *python_;
  }
  std::string where = options_.python ? "configured by python / --python / KFORGE_PYTHON"
                                      : "set python in kforge.toml, --python or KFORGE_PYTHON";
  throw Error("no Python with torch found; tried " + strings::join(tried, "; "), where);
}

std::vector<nlohmann::json> ReferenceRunner::run_script(const nlohmann::json& request,
                                                        std::chrono::seconds time_limit,
                                                        std::string* ended, bool* memory_exceeded) {
  ProcessSpec spec;
  // A task is the user's own code, run as the user, but it sees only the minimal environment
  // (no API keys), dies with kforge, and takes its own children with it when it ends.
  spec.minimal_environment = true;
  spec.refused_environment = options_.refused_environment;
  spec.own_process_group = true;
  if (options_.memory_mb > 0)
    spec.max_resident_bytes = static_cast<uint64_t>(options_.memory_mb) << 20;
  spec.program = python().path;
  spec.arguments = {script_path().string()};
  try {
    spec.standard_input = request.dump();
  } catch (const nlohmann::json::exception& failure) {
    // Task sources are UTF-8 by the time they get here (task_text_from_bytes); this is a bug.
    throw Error(
        std::string("a request for the reference runner is not UTF-8 text: ") + failure.what(),
        request.value("name", std::string("reference runner")));
  }
  spec.time_limit = time_limit;
  spec.max_output_bytes = 64 << 20;
  // One thread per runner: import runs several runners side by side on few cores.
  spec.environment_overrides = {{"OMP_NUM_THREADS", "1"}, {"PYTHONDONTWRITEBYTECODE", "1"}};
  ProcessResult result = run_process(spec);
  if (memory_exceeded != nullptr)
    *memory_exceeded = result.memory_exceeded;
  std::vector<nlohmann::json> replies;
  for (const std::string& line : strings::split(result.standard_output, '\n')) {
    if (strings::trim(line).empty())
      continue;
    auto reply = nlohmann::json::parse(line, nullptr, false);
    if (reply.is_object())
      replies.push_back(std::move(reply));
  }
  if (ended != nullptr) {
    ended->clear();
    bool done = !replies.empty() && replies.back().value("done", false);
    if (result.memory_exceeded) {
      *ended = "the reference runner went over its memory limit of " +
               std::to_string(options_.memory_mb) + " MiB (reference.memory_mb; resident " +
               std::to_string(result.peak_resident_bytes >> 20) + " MiB) and was killed";
    } else if (!result.succeeded() || !done) {
      *ended = "the reference runner " +
               (result.timed_out ? result.describe_end() : "ended with " + result.describe_end());
      std::string tail = files::tail(result.standard_error, 1500);
      if (!strings::trim(tail).empty())
        *ended += "; its stderr ends:\n" + std::string(strings::trim(tail));
    }
  }
  return replies;
}

std::vector<AnalysisOutcome> ReferenceRunner::analyze(
    const std::vector<TaskSource>& tasks,
    const std::function<void(size_t, const AnalysisOutcome&)>& on_done) {
  std::vector<std::optional<AnalysisOutcome>> outcomes(tasks.size());
  std::mutex lock;
  auto finish = [&](size_t index, AnalysisOutcome outcome) {
    std::lock_guard guard(lock);
    outcomes[index] = std::move(outcome);
    if (on_done)
      on_done(index, *outcomes[index]);
  };

  fs::path cache = options_.cache_dir / "analyze";
  files::ensure_directory(cache);
  if (tasks.empty())
    return {};
  // The interpreter's torch version is part of the key: another torch may trace differently.
  std::string torch_version = python().torch_version;
  auto cache_file = [&](const TaskSource& task) {
    return cache /
           (sha256_hex_fields({script_hash(), "analyze", torch_version, sha256_hex(task.source)}) +
            ".json");
  };

  std::vector<size_t> pending;
  for (size_t index = 0; index < tasks.size(); ++index) {
    fs::path cached = cache_file(tasks[index]);
    if (fs::exists(cached)) {
      auto reply = nlohmann::json::parse(files::read(cached), nullptr, false);
      std::optional<TaskAnalysis> analysis;
      try {
        if (reply.is_object())
          analysis = TaskAnalysis::from_reply(reply, cached.string());
      } catch (const Error&) {
        // A damaged cache entry is a miss: the task is analysed again and the entry replaced.
      }
      if (analysis) {
        finish(index, std::move(*analysis));
        continue;
      }
    }
    pending.push_back(index);
  }
  if (pending.empty()) {
    std::vector<AnalysisOutcome> result;
    for (auto& outcome : outcomes)
      result.push_back(std::move(*outcome));
    return result;
  }

  std::vector<std::vector<size_t>> batches;
  for (size_t start = 0; start < pending.size(); start += kTasksPerProcess) {
    batches.emplace_back(pending.begin() + start,
                         pending.begin() + std::min(pending.size(), start + kTasksPerProcess));
  }
  std::atomic<size_t> next{0};
  std::mutex error_lock;
  std::optional<Error> infrastructure;
  auto work = [&] {
    try {
      for (size_t batch = next++; batch < batches.size(); batch = next++) {
        std::vector<size_t> remaining = batches[batch];
        while (!remaining.empty()) {
          nlohmann::json request = {{"op", "analyze"},
                                    {"time_limit_s", options_.timeout_s},
                                    {"tasks", nlohmann::json::array()}};
          for (size_t index : remaining) {
            request["tasks"].push_back({{"name", tasks[index].name},
                                        {"source", tasks[index].source},
                                        {"filename", tasks[index].filename}});
          }
          // The script holds each task to the limit itself; this outer limit is for a
          // runner stuck where Python's alarm cannot reach.
          auto limit =
              std::chrono::seconds(options_.timeout_s * static_cast<int>(remaining.size()) + 60);
          std::string ended;
          bool memory_exceeded = false;
          auto replies = run_script(request, limit, &ended, &memory_exceeded);
          size_t answered = 0;
          for (const auto& reply : replies) {
            if (reply.contains("done"))
              continue;
            if (answered >= remaining.size())
              break;
            size_t index = remaining[answered++];
            if (reply.value("ok", false)) {
              files::write_atomic(cache_file(tasks[index]), reply.dump());
              finish(index, TaskAnalysis::from_reply(reply, tasks[index].name));
            } else {
              finish(index, failure_from_reply(reply));
            }
          }
          remaining.erase(remaining.begin(), remaining.begin() + answered);
          if (remaining.empty())
            break;
          // The runner died inside the first unanswered task: that task gets the blame, the
          // rest go to a fresh runner.
          if (ended.empty())
            ended = "the reference runner stopped without answering";
          finish(remaining.front(),
                 ReferenceFailure{memory_exceeded ? ReferenceFailureKind::kMemoryLimit
                                                  : ReferenceFailureKind::kDied,
                                  ended, ""});
          remaining.erase(remaining.begin());
        }
      }
    } catch (const Error& failure) {
      std::lock_guard guard(error_lock);
      if (!infrastructure)
        infrastructure = failure;
    } catch (const std::exception& failure) {
      // Nothing may escape a thread (that would abort kforge); reported like an Error.
      std::lock_guard guard(error_lock);
      if (!infrastructure)
        infrastructure =
            Error(std::string("the reference runner's bridge failed: ") + failure.what());
    }
  };
  unsigned workers =
      std::min<unsigned>(worker_count(options_.jobs), static_cast<unsigned>(batches.size()));
  std::vector<std::thread> threads;
  for (unsigned worker = 0; worker < workers; ++worker)
    threads.emplace_back(work);
  for (auto& thread : threads)
    thread.join();
  if (infrastructure)
    throw *infrastructure;
  std::vector<AnalysisOutcome> result;
  for (auto& outcome : outcomes)
    result.push_back(std::move(*outcome));
  return result;
}

ReferenceResult ReferenceRunner::run(const ReferenceRequest& request) {
  nlohmann::json key_request = {{"op", "run"},
                                {"constants", request.constants},
                                {"seed", request.seed},
                                {"dtype", request.dtype},
                                {"device", request.device}};
  if (request.count_flops)
    key_request["count_flops"] = true;
  if (request.vary_scalars)
    key_request["vary_scalars"] = true;
  if (!request.float64_reference)
    key_request["float64_reference"] = false;
  std::string key = sha256_hex_fields(
      {script_hash(), python().torch_version, sha256_hex(request.task.source), key_request.dump()});
  fs::path dir = options_.cache_dir / "run" / key;
  fs::path reply_path = dir / "reply.json";
  nlohmann::json reply;
  bool from_cache = false;
  if (fs::exists(reply_path)) {
    reply = nlohmann::json::parse(files::read(reply_path), nullptr, false);
    from_cache = reply.is_object() && reply.value("ok", false);
  }
  if (!from_cache) {
    files::ensure_directory(dir);
    nlohmann::json full = key_request;
    full["name"] = request.task.name;
    full["source"] = request.task.source;
    full["filename"] = request.task.filename;
    full["out_dir"] = dir.string();
    full["time_limit_s"] = options_.timeout_s;
    std::string ended;
    auto replies = run_script(full, std::chrono::seconds(options_.timeout_s + 60), &ended);
    if (replies.empty() || replies.front().contains("done"))
      throw Error(ended.empty() ? "the reference runner gave no reply" : ended, request.task.name);
    reply = replies.front();
    if (!reply.value("ok", false)) {
      ReferenceFailure failure = failure_from_reply(reply);
      throw Error("the reference failed: " + failure.describe(), request.task.name);
    }
    files::write_atomic(reply_path, reply.dump());
  }
  ReferenceResult result;
  try {
    result.signature = Signature::from_json(reply.at("signature"), request.task.name);
    for (const auto& [name, value] : reply.at("constants").items())
      result.constants[name] = value.get<int64_t>();
    result.torch_version = reply.value("torch_version", "");
    result.device = reply.value("device", "");
    result.duration_s = reply.value("duration_s", 0.0);
    if (reply.contains("flops") && reply["flops"].is_number())
      result.flops = reply["flops"].get<double>();
    if (reply.contains("flops_method") && reply["flops_method"].is_string())
      result.flops_method = reply["flops_method"].get<std::string>();
    if (reply.contains("scalar_factor") && reply["scalar_factor"].is_number())
      result.scalar_factor = reply["scalar_factor"].get<double>();
    if (reply.contains("scalars_note") && reply["scalars_note"].is_string())
      result.scalars_note = reply["scalars_note"].get<std::string>();
    if (reply.contains("float64_note") && reply["float64_note"].is_string())
      result.float64_note = reply["float64_note"].get<std::string>();
  } catch (const nlohmann::json::exception& failure) {
    throw Error(std::string("malformed reply from the reference runner: ") + failure.what(),
                reply_path.string());
  }
  result.inputs = read_safetensors(dir / "inputs.safetensors").tensors;
  result.parameters = read_safetensors(dir / "parameters.safetensors").tensors;
  result.outputs = read_safetensors(dir / "outputs.safetensors").tensors;
  if (reply.contains("float64_outputs") && reply["float64_outputs"].is_string())
    result.outputs_float64 = read_safetensors(dir / "outputs_float64.safetensors").tensors;
  result.from_cache = from_cache;
  result.directory = dir;
  return result;
}

std::variant<BaselineTimes, ReferenceFailure> ReferenceRunner::baseline(
    const BaselineRequest& request) {
  nlohmann::json full = {{"op", "baseline"},
                         {"name", request.task.name},
                         {"source", request.task.source},
                         {"filename", request.task.filename},
                         {"constants", request.constants},
                         {"seed", request.seed},
                         {"dtype", request.dtype},
                         {"device_index", request.device_index},
                         {"warmup", request.timing.warmup},
                         {"min_samples", request.timing.min_samples},
                         {"max_samples", request.timing.max_samples},
                         {"target_spread", request.timing.target_spread},
                         {"time_cap_ms", request.timing.time_cap_ms},
                         {"flush_l2", request.timing.flush_l2},
                         {"time_limit_s", options_.timeout_s}};
  std::string ended;
  auto replies = run_script(full, std::chrono::seconds(options_.timeout_s + 60), &ended);
  if (replies.empty() || replies.front().contains("done")) {
    return ReferenceFailure{ReferenceFailureKind::kDied,
                            ended.empty() ? "the reference runner gave no reply" : ended, ""};
  }
  const nlohmann::json& reply = replies.front();
  if (!reply.value("ok", false))
    return failure_from_reply(reply);
  auto mode = [&](const char* name) {
    BaselineMode times;
    const nlohmann::json& part = reply.contains(name) ? reply[name] : nlohmann::json::object();
    times.error = part.value("error", "");
    times.hit_time_cap = part.value("hit_time_cap", false);
    if (part.contains("samples") && part["samples"].is_array()) {
      for (const auto& sample : part["samples"]) {
        if (sample.is_number())
          times.samples_us.push_back(sample.get<double>());
      }
    }
    if (times.error.empty() && times.samples_us.empty())
      times.error = "the reference runner returned no samples";
    return times;
  };
  BaselineTimes times;
  times.eager = mode("eager");
  times.compile = mode("compile");
  times.torch_version = reply.value("torch_version", "");
  times.device_name = reply.value("device_name", "");
  times.method = reply.value("method", "");
  return times;
}

}  // namespace kforge
