#include "harness/evaluation/ncu_profile.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <string_view>

#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "harness/util/strings.hpp"
#include "harness/util/subprocess.hpp"
#include "profiler/ncu_csv.hpp"

namespace kforge {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr uint64_t kReplayId = 2;
constexpr size_t kDetailBytes = 300;

ProfileReply unavailable(ProfileUnavailableReason reason, std::string_view detail) {
  ProfileReply reply;
  reply.profiler = "ncu";
  reply.reason = reason;
  std::string line = strings::printable_line(detail);
  if (line.size() > kDetailBytes)
    line = line.substr(0, kDetailBytes) + "...";
  reply.detail = std::move(line);
  return reply;
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    lines.push_back(line);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  }
  return lines;
}

// ncu's first `==ERROR==` line in its log or on its stderr, without the marker.
std::optional<std::string> first_error_line(const NcuOutcome& outcome) {
  for (std::string_view text :
       {std::string_view(outcome.log), std::string_view(outcome.standard_error)}) {
    for (std::string_view line : lines_of(text)) {
      if (line.starts_with("==ERROR=="))
        return std::string(strings::trim(line.substr(9)));
    }
  }
  return std::nullopt;
}

// The most passes ncu reported for a launch: `==PROF== Profiling "k" - 1: 0%....100% - 12 passes`.
int passes_reported(std::string_view log) {
  int most = 0;
  for (std::string_view line : lines_of(log)) {
    if (!line.starts_with("==PROF== Profiling") || !line.ends_with(" passes"))
      continue;
    line.remove_suffix(7);
    size_t space = line.rfind(' ');
    if (space == std::string_view::npos)
      continue;
    int passes = 0;
    std::string_view number = line.substr(space + 1);
    auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), passes);
    if (error == std::errc() && end == number.data() + number.size())
      most = std::max(most, passes);
  }
  return most;
}

// The worker's reply to the replay request among its stdout lines, if it gave one.
std::optional<json> replay_reply(std::string_view replies) {
  for (std::string_view line : lines_of(replies)) {
    json reply = json::parse(line, nullptr, false);
    if (reply.is_object() && reply.value("id", json()) == json(kReplayId))
      return reply;
    // A hello refused (no usable GPU under ncu) ends the worker before the replay.
    if (reply.is_object() && reply.value("ok", true) == false && reply.contains("error"))
      return reply;
  }
  return std::nullopt;
}

std::optional<fs::path> find_ncu(const std::string& ncu) {
  if (ncu.find('/') != std::string::npos) {
    if (::access(ncu.c_str(), X_OK) == 0 && fs::is_regular_file(ncu))
      return fs::path(ncu);
    return std::nullopt;
  }
  return find_on_path(ncu);
}

}  // namespace

std::vector<std::string> ncu_arguments(const std::vector<std::string>& metrics, size_t launches,
                                       const fs::path& log_file) {
  std::string list;
  for (const std::string& metric : metrics)
    list += (list.empty() ? "" : ",") + metric;
  const std::string count = std::to_string(launches);
  return {"--csv",
          "--page",
          "raw",
          "--print-units",
          "base",
          "--metrics",
          list,
          "--target-processes",
          "all",
          "--launch-skip",
          count,
          "--launch-count",
          count,
          "--log-file",
          log_file.string()};
}

ProfileReply read_ncu_profile(const NcuOutcome& outcome, const std::vector<std::string>& kernels) {
  std::optional<std::string> error = first_error_line(outcome);
  // The machine's refusal, whatever else happened: ncu names it by its error code.
  if (error && error->find("ERR_NVGPUCTRPERM") != std::string::npos)
    return unavailable(ProfileUnavailableReason::kInsufficientPrivileges, "ncu: " + *error);

  std::optional<json> reply = replay_reply(outcome.worker_replies);
  if (reply && reply->value("ok", false) == false) {
    if (reply->contains("failure") && (*reply)["failure"].is_object()) {
      const json& failure = (*reply)["failure"];
      return unavailable(ProfileUnavailableReason::kWorkerFailure,
                         "under ncu: " + failure.value("kind", std::string()) + ": " +
                             failure.value("message", std::string()));
    }
    return unavailable(ProfileUnavailableReason::kWorkerFailure,
                       "under ncu: " + reply->value("error", std::string()));
  }
  if (!reply && !error) {
    // ncu said nothing wrong of its own: the worker under it ended without its reply.
    std::string detail =
        "the worker under ncu ended without replying to replay (ncu: " + outcome.end + ")";
    if (std::string_view tail = strings::trim(outcome.standard_error); !tail.empty())
      detail += "; stderr ends: " + files::tail(tail, 200);
    return unavailable(ProfileUnavailableReason::kWorkerFailure, detail);
  }
  if (!outcome.succeeded || !reply) {
    std::string detail = "ncu ended with " + outcome.end;
    if (error)
      detail += ": " + *error;
    return unavailable(ProfileUnavailableReason::kProfilerError, detail);
  }
  std::vector<CounterSet> launches;
  try {
    launches = parse_ncu_raw_csv(outcome.log, "ncu's log");
  } catch (const Error& unreadable) {
    return unavailable(ProfileUnavailableReason::kProfilerError,
                       std::string("ncu's CSV cannot be read: ") + unreadable.what());
  }
  if (launches.size() != kernels.size()) {
    return unavailable(ProfileUnavailableReason::kProfilerError,
                       "ncu profiled " + std::to_string(launches.size()) +
                           " launches where the plan makes " + std::to_string(kernels.size()));
  }
  ProfileReply profile;
  profile.status = ProfileStatus::kCollected;
  profile.profiler = "ncu";
  profile.passes = passes_reported(outcome.log);
  profile.overhead_ms = outcome.duration_ms;
  for (size_t k = 0; k < launches.size(); ++k) {
    if (launches[k].kernel != kernels[k]) {
      return unavailable(ProfileUnavailableReason::kProfilerError,
                         "ncu's launch " + std::to_string(k) + " ran '" + launches[k].kernel +
                             "' where the plan launches '" + kernels[k] + "'");
    }
    KernelCounters counters{static_cast<int>(k), kernels[k], {}};
    for (const auto& [name, value] : launches[k].metrics)
      counters.metrics[name] = value;
    profile.kernels.push_back(std::move(counters));
  }
  return profile;
}

ProfileReply profile_with_ncu(const NcuProfileRun& run, const ProfileRequest& request) {
  std::optional<fs::path> ncu = find_ncu(run.ncu);
  if (!ncu) {
    return unavailable(ProfileUnavailableReason::kNcuMissing,
                       run.ncu.find('/') != std::string::npos
                           ? "Nsight Compute's CLI is not at " + run.ncu + " (profile.ncu)"
                           : "Nsight Compute's CLI '" + run.ncu +
                                 "' is not on PATH (profile.ncu; install Nsight Compute or give "
                                 "its path)");
  }
  std::vector<std::string> kernels;
  for (const json& launch : request.plan.at("launches"))
    kernels.push_back(launch.at("kernel").get<std::string>());

  files::ensure_directory(run.job);
  const fs::path requests = run.job / "requests.jsonl";
  const fs::path log = run.job / "ncu.csv";
  json replay = request.to_json();
  replay["op"] = "replay";
  replay["id"] = kReplayId;
  files::write_atomic(requests, json{{"op", "hello"}, {"id", 1}}.dump() + "\n" + replay.dump() +
                                    "\n" + json{{"op", "exit"}}.dump() + "\n");

  ProcessSpec spec;
  spec.program = *ncu;
  spec.arguments = ncu_arguments(request.metrics, kernels.size(), log);
  spec.arguments.push_back(run.worker_program.string());
  spec.arguments.insert(spec.arguments.end(), run.worker_arguments.begin(),
                        run.worker_arguments.end());
  spec.arguments.insert(spec.arguments.end(), {"--requests", requests.string()});
  // The candidate's code runs under it: the environment without secrets, the whole group killed.
  spec.minimal_environment = true;
  spec.own_process_group = true;
  spec.working_directory = run.job;
  spec.time_limit = run.time_limit;

  NcuOutcome outcome;
  try {
    ProcessResult result = run_process(spec);
    outcome.worker_replies = result.standard_output;
    outcome.standard_error = result.standard_error;
    outcome.succeeded = result.succeeded();
    outcome.end = result.describe_end();
    outcome.duration_ms = static_cast<double>(result.duration.count());
  } catch (const Error& not_started) {
    return unavailable(ProfileUnavailableReason::kNcuMissing,
                       std::string("ncu could not be started: ") + not_started.what());
  }
  try {
    if (fs::is_regular_file(log))
      outcome.log = files::read(log, 64 << 20);
  } catch (const Error& unreadable) {
    return unavailable(ProfileUnavailableReason::kProfilerError,
                       std::string("ncu's log: ") + unreadable.what());
  }
  ProfileReply profile = read_ncu_profile(outcome, kernels);
  profile.chip = profile.status == ProfileStatus::kCollected ? run.chip : "";
  profile.overhead_ms = outcome.duration_ms;
  return profile;
}

}  // namespace kforge
