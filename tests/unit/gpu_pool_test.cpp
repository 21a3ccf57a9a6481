// Several GPUs at once (harness/evaluation/gpu_pool, gpu_session): a GpuSession of N emulated
// GPU workers (tests/support/emulated_gpu_worker.py with --device, a latency per evaluation and a
// log of every request's wall-clock interval), the real evaluator, compile pool, reference runner
// and store, driven by the optimize loop's replay agent. The workers' own log shows what ran
// where and when.
#include "harness/evaluation/gpu_pool.hpp"
#include "harness/options/gpu_worker_options.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "datasets/records.hpp"
#include "datasets/run_records.hpp"
#include "harness/evaluation/evaluation_service.hpp"
#include "harness/evaluation/evaluator.hpp"
#include "harness/evaluation/gpu_session.hpp"
#include "harness/evaluation/stored_evaluation.hpp"
#include "harness/optimize/optimize_loop.hpp"
#include "harness/reference_runner.hpp"
#include "harness/task_import.hpp"
#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "harness/util/strings.hpp"
#include "harness/workspace.hpp"
#include "sandbox/compile_pool.hpp"
#include "tests/support/emulated_gpu_fixtures.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

namespace fs = std::filesystem;
using testing::emulated_candidate;

// One request as a worker logged it.
struct Interval {
  int device = 0;
  std::string op, kernel;
  double start = 0, end = 0;
};

// What one replay over the pool left behind.
struct PoolRun {
  TaskOutcome outcome;
  std::vector<Interval> log;
  std::vector<StoredEvaluation> evaluations;  // by item, in iteration order
  std::vector<int64_t> stored_order;          // the items' indices, in the order they were stored
  std::vector<LostDevice> lost;
};

class GpuPoolTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    directory_ = new testing::TemporaryDirectory();
    workspace_ = new Workspace(WorkspaceOptions{.root = directory_->path()});
    Config& config = workspace_->config();
    config.set("python", "/usr/bin/python3");
    config.set("verify.seeds", "1");
    config.set("timing.input_sets", "2");
    config.set("timing.warmup", "1");
    config.set("timing.min_samples", "4");
    config.set("timing.max_samples", "4");
    config.set("timing.baselines", "false");
    config.set("profile.enabled", "false");
    fs::path suite = directory_->path() / "suite";
    fs::create_directories(suite);
    testing::write_text(suite / "tiny_relu.py", testing::kTinyReluTask);
    ReferenceRunner reference = ReferenceRunner::for_workspace(*workspace_);
    auto lines = import_tasks(workspace_->store(), reference, suite, "tiny");
    ASSERT_EQ(lines.size(), 1u);
    ASSERT_EQ(lines[0].status, ImportStatus::kImported) << lines[0].detail;
    task_ = new Task(load_task(*workspace_, "tiny/tiny_relu"));
    CompilePoolOptions pool_options;
    pool_options.workers = 2;
    pool_options.cache_dir = workspace_->cache_dir("compile");
    pool_options.worker_program = testing::kforge_binary();
    compile_ = new CompilePool(pool_options);
  }
  static void TearDownTestSuite() {
    delete compile_;
    delete task_;
    delete workspace_;
    delete directory_;
  }

  // Replays `count` honest candidates (kernels relu_0, relu_1, ...) on the GPUs `devices` names
  // (gpu.devices), each evaluation's timing taking `latency_ms` more, with `extra` worker flags.
  static PoolRun replay(const std::string& devices, int count, int latency_ms,
                        std::vector<std::string> extra = {}) {
    static int runs = 0;
    fs::path log = directory_->path() / ("requests-" + std::to_string(++runs) + ".jsonl");
    workspace_->config().set(kGpuDevicesKey, devices);
    std::vector<std::string> command = {
        "/usr/bin/python3",
        (testing::source_dir() / "tests/support/emulated_gpu_worker.py").string(),
        "--latency-ms",
        std::to_string(latency_ms),
        "--log",
        log.string()};
    command.insert(command.end(), extra.begin(), extra.end());
    GpuSession session(*workspace_, /*visible_gpus=*/0, command);
    EXPECT_TRUE(session.runs()) << session.no_run_reason();
    EvaluatorOptions options =
        EvaluationService::evaluator_options(workspace_->config(), session.arch());
    session.configure(options);
    Evaluator evaluator(workspace_->store(), *compile_, options);
    std::vector<ReplayItem> items;
    for (int index = 0; index < count; ++index) {
      std::string kernel = "relu_" + std::to_string(index);
      items.push_back(
          {.source = emulated_candidate(kernel), .file_name = kernel + ".cu", .origin = "replay"});
    }
    int64_t run_id = insert_run(workspace_->store(), RunRow{.kind = "optimize", .agent = "replay"});
    OptimizeLoop loop(workspace_->store(), evaluator, run_id, {});
    PoolRun result;
    result.outcome = loop.run_replay(*task_, items);
    result.lost = session.pool()->lost();
    if (fs::exists(log)) {
      for (const std::string& line : strings::split(files::read(log), '\n')) {
        if (line.empty())
          continue;
        nlohmann::json entry = nlohmann::json::parse(line);
        result.log.push_back({entry["device"].get<int>(), entry["op"].get<std::string>(),
                              entry["kernel"].get<std::string>(), entry["start"].get<double>(),
                              entry["end"].get<double>()});
      }
    }
    std::map<int64_t, int64_t> iteration_of_candidate;
    for (const auto& [iteration, candidate_id] :
         candidate_ids_by_iteration(workspace_->store(), run_id, task_->id)) {
      iteration_of_candidate[candidate_id] = iteration;
      std::optional<CandidateRow> candidate = find_candidate(workspace_->store(), candidate_id);
      std::vector<StoredEvaluation> stored = stored_evaluations_of(workspace_->store(), *candidate);
      EXPECT_EQ(stored.size(), 1u) << "candidate " << candidate_id;
      if (!stored.empty())
        result.evaluations.push_back(std::move(stored.front()));
    }
    for (const auto& [candidate_id, iteration] : iteration_of_candidate)
      result.stored_order.push_back(iteration);
    return result;
  }

  static std::vector<Interval> timed(const PoolRun& run) {
    std::vector<Interval> times;
    for (const Interval& interval : run.log) {
      if (interval.op == "time")
        times.push_back(interval);
    }
    return times;
  }

  static testing::TemporaryDirectory* directory_;
  static Workspace* workspace_;
  static Task* task_;
  static CompilePool* compile_;
};

testing::TemporaryDirectory* GpuPoolTest::directory_ = nullptr;
Workspace* GpuPoolTest::workspace_ = nullptr;
Task* GpuPoolTest::task_ = nullptr;
CompilePool* GpuPoolTest::compile_ = nullptr;

TEST_F(GpuPoolTest, FourWorkersRunAtOnceButEachDeviceOneEvaluationAtATime) {
  constexpr int kCandidates = 8;
  // A first pass on one GPU fills the compile cache, so in the measured pass the candidates reach
  // the pool as fast as the look-ahead lets them rather than at the pace of two compile workers
  // on a loaded machine (where each could be judged before the next was compiled).
  replay("0", kCandidates, 0);
  PoolRun run = replay("0,1,2,3", kCandidates, 400);
  ASSERT_EQ(run.outcome.status, RunStatus::kCompleted) << run.outcome.stop_reason;
  ASSERT_EQ(run.evaluations.size(), static_cast<size_t>(kCandidates));

  // Every candidate timed exactly once, and on the device its stored record names.
  std::vector<Interval> times = timed(run);
  std::map<std::string, int> timed_per_kernel;
  std::map<std::string, int> device_of_kernel;
  for (const Interval& interval : times) {
    ++timed_per_kernel[interval.kernel];
    device_of_kernel[interval.kernel] = interval.device;
  }
  ASSERT_EQ(timed_per_kernel.size(), static_cast<size_t>(kCandidates));
  for (const auto& [kernel, count] : timed_per_kernel)
    EXPECT_EQ(count, 1) << kernel;
  std::set<int> devices_used;
  for (size_t index = 0; index < run.evaluations.size(); ++index) {
    const EvaluationRecord& record = run.evaluations[index].record;
    EXPECT_EQ(record.verdict, Verdict::kCorrect) << record.detail;
    ASSERT_TRUE(record.environment.device);
    EXPECT_EQ(*record.environment.device, device_of_kernel["relu_" + std::to_string(index)]);
    devices_used.insert(static_cast<int>(*record.environment.device));
  }
  EXPECT_EQ(devices_used, (std::set<int>{0, 1, 2, 3}));

  // Concurrent: some timing on one device overlaps a timing on another.
  bool overlapped = false;
  for (const Interval& a : times) {
    for (const Interval& b : times) {
      if (a.device != b.device && a.start < b.end && b.start < a.end)
        overlapped = true;
    }
  }
  std::string intervals;
  for (const Interval& interval : times)
    intervals += "\n  GPU " + std::to_string(interval.device) + " " + interval.kernel + " " +
                 std::to_string(interval.start) + " .. " + std::to_string(interval.end);
  EXPECT_TRUE(overlapped) << "no two devices ever timed at the same moment:" << intervals;

  // Never two evaluations on one device at a time: on each device the requests never overlap,
  // and one candidate's requests (verify runs, time) are never interleaved with another's.
  std::map<int, std::vector<Interval>> by_device;
  for (const Interval& interval : run.log)
    by_device[interval.device].push_back(interval);
  for (auto& [device, intervals] : by_device) {
    std::sort(intervals.begin(), intervals.end(),
              [](const Interval& a, const Interval& b) { return a.start < b.start; });
    std::set<std::string> finished;
    std::string current;
    for (size_t index = 0; index < intervals.size(); ++index) {
      if (index > 0) {
        EXPECT_LE(intervals[index - 1].end, intervals[index].start) << "device " << device;
      }
      const std::string& kernel = intervals[index].kernel;
      if (kernel.empty() || kernel == current)
        continue;  // measure has no kernel; the same candidate goes on
      EXPECT_FALSE(finished.contains(kernel))
          << kernel << " came back to device " << device << " after another candidate";
      if (!current.empty())
        finished.insert(current);
      current = kernel;
    }
  }
}

TEST_F(GpuPoolTest, ResultsAreThoseOfOneGpuApartFromTheDevice) {
  constexpr int kCandidates = 4;
  PoolRun one = replay("0", kCandidates, 0);
  PoolRun three = replay("0,1,2", kCandidates, 0);
  ASSERT_EQ(one.evaluations.size(), static_cast<size_t>(kCandidates));
  ASSERT_EQ(three.evaluations.size(), static_cast<size_t>(kCandidates));
  for (size_t index = 0; index < one.evaluations.size(); ++index) {
    EvaluationRecord a = one.evaluations[index].record;
    EvaluationRecord b = three.evaluations[index].record;
    EXPECT_EQ(a.environment.device, 0);
    a.environment.device.reset();
    b.environment.device.reset();
    // The results: verdict, evidence, timing samples and statistics, the environment; stage
    // durations and whether a compile came from the cache are not results.
    EXPECT_EQ(a.verdict, b.verdict) << "item " << index;
    EXPECT_EQ(a.reason, b.reason);
    EXPECT_EQ(a.detail, b.detail);
    EXPECT_EQ(a.evidence.to_json(), b.evidence.to_json());
    ASSERT_TRUE(a.timing && b.timing);
    EXPECT_EQ(a.timing->to_json(), b.timing->to_json());
    EXPECT_EQ(a.device_time_us, b.device_time_us);
    EXPECT_EQ(a.environment.to_json(), b.environment.to_json());
    EXPECT_EQ(a.gpu, b.gpu);
  }
}

// Each candidate is stored as soon as its GPU stages end, not behind an earlier one still on a
// GPU: with the first of four slow (6 s a timing, the others 0.5 s) on two GPUs, the other three
// are judged on the second GPU meanwhile and stored before it. (They used to be stored in the
// order of the items: every one behind the first. Under load, when the first happened to compile
// last and so ran last, a nightly node held a task half done for no time at all: nothing stored,
// then everything.)
TEST_F(GpuPoolTest, EachCandidateIsStoredAsItsGpuStagesEnd) {
  PoolRun run = replay("0,1", 4, 500, {"--latency-of", "relu_0=6000"});
  ASSERT_EQ(run.outcome.status, RunStatus::kCompleted) << run.outcome.stop_reason;
  ASSERT_EQ(run.evaluations.size(), 4u);
  // The slow one's timing ended last, on one GPU, the others on the other.
  std::vector<Interval> times = timed(run);
  ASSERT_EQ(times.size(), 4u);
  const auto last_ended =
      std::max_element(times.begin(), times.end(),
                       [](const Interval& a, const Interval& b) { return a.end < b.end; });
  EXPECT_EQ(last_ended->kernel, "relu_0");
  EXPECT_EQ(run.stored_order.size(), 4u);
  EXPECT_EQ(run.stored_order.back(), 0) << "relu_0 was not stored last";
  EXPECT_EQ(run.outcome.progress.attempts, 4);
}

TEST_F(GpuPoolTest, ALostDeviceCostsOnlyItsShare) {
  constexpr int kCandidates = 6;
  fs::path marker = directory_->path() / "device-1-lost";
  // Device 1 falls off on its first candidate: the pool gives the second candidate to device 1
  // whatever the load (the free device with the fewest evaluations, the lowest first), whereas a
  // second candidate for device 1 depended on how long its first took (it once took so long that
  // devices 0 and 2 judged all the others).
  PoolRun run =
      replay("0,1,2", kCandidates, 200,
             {"--lose-device", "1", "--lose-after", "0", "--lost-marker", marker.string()});
  ASSERT_EQ(run.outcome.status, RunStatus::kCompleted) << run.outcome.stop_reason;
  ASSERT_EQ(run.evaluations.size(), static_cast<size_t>(kCandidates));
  EXPECT_TRUE(fs::exists(marker)) << "device 1 never fell off";
  // The candidate in flight when device 1 went is run again elsewhere, not judged for it.
  int on_lost_device = 0;
  for (const StoredEvaluation& stored : run.evaluations) {
    EXPECT_EQ(stored.record.verdict, Verdict::kCorrect) << stored.record.detail;
    if (stored.record.environment.device == 1)
      ++on_lost_device;
  }
  EXPECT_EQ(on_lost_device, 0);
  ASSERT_EQ(run.lost.size(), 1u);
  EXPECT_EQ(run.lost[0].device, 1);
  EXPECT_NE(run.lost[0].reason.find("device was lost"), std::string::npos) << run.lost[0].reason;
}

TEST_F(GpuPoolTest, WithEveryDeviceLostTheRunStopsWithAnError) {
  fs::path marker = directory_->path() / "device-0-lost";
  EXPECT_THROW(
      replay("0", 2, 0,
             {"--lose-device", "0", "--lose-after", "0", "--lost-marker", marker.string()}),
      Error);
}

TEST_F(GpuPoolTest, ADeviceWhoseWorkerDoesNotStartIsLeftOutWithItsReason) {
  fs::path marker = directory_->path() / "device-2-gone";
  testing::write_text(marker, "");
  workspace_->config().set(kGpuDevicesKey, "0,2");
  GpuSession session(*workspace_, /*visible_gpus=*/0,
                     {"/usr/bin/python3",
                      (testing::source_dir() / "tests/support/emulated_gpu_worker.py").string(),
                      "--lose-device", "2", "--lost-marker", marker.string()});
  ASSERT_TRUE(session.runs()) << session.no_run_reason();
  EXPECT_EQ(session.pool()->size(), 1u);
  ASSERT_EQ(session.devices_not_started().size(), 1u);
  EXPECT_EQ(session.devices_not_started()[0].device, 2);
}

// Regression: the devices' own store connections waited for an unreachable PostgreSQL server
// the default 30 s, whatever store.retry_s said.
TEST_F(GpuPoolTest, TheDevicesStoreConnectionsWaitStoreRetryS) {
  workspace_->config().set(kGpuDevicesKey, "0");
  workspace_->config().set("store.retry_s", "1");
  GpuSession session(*workspace_, /*visible_gpus=*/0,
                     {"/usr/bin/python3",
                      (testing::source_dir() / "tests/support/emulated_gpu_worker.py").string()});
  workspace_->config().set("store.retry_s", "30");
  ASSERT_TRUE(session.runs()) << session.no_run_reason();
  EXPECT_EQ(session.pool()->store_options().retry_seconds, 1.0);
  EXPECT_FALSE(session.pool()->store_options().create);

  // A pool on a socket folder where no server listens, opened as the session's: a device's
  // connection gives up after store.retry_s, not 30 s.
  testing::TemporaryDirectory nowhere;
  GpuPool unreachable("postgresql:///kforge?host=" + nowhere.path().string() + "&user=kforge",
                      session.pool()->store_options());
  GpuPool::Lease worker = session.pool()->acquire();
  unreachable.add_borrowed(0, worker.gpu(), worker.reference());
  GpuPool::Lease lease = unreachable.acquire();
  auto started = std::chrono::steady_clock::now();
  EXPECT_THROW(lease.store(), Error);
  double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_GE(waited, 0.5);
  EXPECT_LE(waited, 10.0);
}

TEST(GpuDevicesTest, ChosenDevicesFollowTheKey) {
  Config config;
  EXPECT_EQ(GpuSession::chosen_devices(config, 4), std::vector<int>{0});
  config.set("gpu.device", "3");
  EXPECT_EQ(GpuSession::chosen_devices(config, 4), std::vector<int>{3});
  config.set(kGpuDevicesKey, "all");
  EXPECT_EQ(GpuSession::chosen_devices(config, 4), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(GpuSession::chosen_devices(config, 0), std::vector<int>{3});
  config.set(kGpuDevicesKey, "2, 0");
  EXPECT_EQ(GpuSession::chosen_devices(config, 4), (std::vector<int>{2, 0}));
}

TEST(GpuDevicesTest, BadValuesAreOneLineErrorsNamingTheKey) {
  for (const char* bad : {"0,0", "-1", "x", "", "1,,2", "1024", "all,1", "0.5"}) {
    Config config;
    try {
      config.set(kGpuDevicesKey, bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& error) {
      std::string what = error.what();
      EXPECT_NE(what.find("gpu.devices"), std::string::npos) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
  }
}

TEST(GpuDevicesTest, TheFileTakesAListOrAllAndRefusesTheRest) {
  testing::TemporaryDirectory directory;
  fs::path file = directory.path() / "kforge.toml";
  testing::write_text(file, "[gpu]\ndevices = [0, 2]\n");
  EXPECT_EQ(GpuSession::chosen_devices(Config::load(file), 4), (std::vector<int>{0, 2}));
  testing::write_text(file, "[gpu]\ndevices = \"all\"\n");
  EXPECT_EQ(GpuSession::chosen_devices(Config::load(file), 2), (std::vector<int>{0, 1}));
  for (const char* bad :
       {"[gpu]\ndevices = []\n", "[gpu]\ndevices = [0, \"a\"]\n", "[gpu]\ndevices = 3\n",
        "[gpu]\ndevices = [1, 1]\n", "[gpu]\ndevices = \"some\"\n"}) {
    testing::write_text(file, bad);
    try {
      Config::load(file);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const Error& error) {
      std::string what = error.what();
      EXPECT_NE(what.find("gpu.devices"), std::string::npos) << what;
      EXPECT_NE(what.find("kforge.toml:2"), std::string::npos) << what;
    }
  }
}

}  // namespace
}  // namespace kforge
