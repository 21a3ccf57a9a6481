// Reading an ncu run into a profile (harness/evaluation/ncu_profile.hpp): the raw page's rows as
// the plan's launches, the passes ncu reported, and each way ncu cannot give counters as an
// unavailable profile with a one-line reason. The logs are shaped as ncu writes them (its
// `==PROF==` and `==ERROR==` lines, the raw page with its header and units rows); the route end to
// end, with tests/support/ncu_stand_in.py and the emulated worker, is in run_stage_test.cpp.
#include "harness/evaluation/ncu_profile.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace kforge {
namespace {

constexpr std::string_view kHeader =
    "\"ID\",\"Process ID\",\"Process Name\",\"Host Name\",\"Kernel Name\",\"Context\",\"Stream\","
    "\"Block Size\",\"Grid Size\",\"Device\",\"CC\",\"dram__bytes_read.sum\","
    "\"gpu__time_duration.sum\"\n"
    "\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"Kbyte\",\"usecond\"\n";

std::string replies(bool ok = true) {
  return std::string("{\"id\":1,\"ok\":true,\"protocol\":3}\n") +
         (ok ? "{\"id\":2,\"ok\":true,\"launches\":2}\n"
             : "{\"id\":2,\"ok\":false,\"failure\":{\"kind\":\"runtime_error\",\"message\":\"an "
               "illegal memory access was encountered\"}}\n");
}

NcuOutcome collected_run() {
  NcuOutcome outcome;
  outcome.log = std::string("==PROF== Connected to process 77 (/usr/bin/kforge)\n") +
                "==PROF== Profiling \"scale\" - 0: 0%....50%....100% - 11 passes\n"
                "==PROF== Profiling \"reduce\" - 1: 0%....50%....100% - 12 passes\n"
                "==PROF== Disconnected from process 77\n" +
                std::string(kHeader) +
                "\"0\",\"77\",\"kforge\",\"h\",\"scale\",\"1\",\"13\",\"(256, 1, 1)\",\"(64, 1, "
                "1)\",\"0\",\"9.0\",\"1,024.5\",\"12.5\"\n"
                "\"1\",\"77\",\"kforge\",\"h\",\"reduce\",\"1\",\"13\",\"(128, 1, 1)\",\"(1, 1, "
                "1)\",\"0\",\"9.0\",\"2\",\"n/a\"\n";
  outcome.worker_replies = replies();
  outcome.succeeded = true;
  outcome.end = "exit code 0";
  outcome.duration_ms = 840;
  return outcome;
}

TEST(NcuProfile, TheArgumentsAskForTheRawPageOfTheSecondPass) {
  std::vector<std::string> arguments =
      ncu_arguments({"gpu__time_duration.sum", "dram__bytes_read.sum"}, 3, "/job/ncu.csv");
  EXPECT_EQ(arguments,
            (std::vector<std::string>{"--csv", "--page", "raw", "--print-units", "base",
                                      "--metrics", "gpu__time_duration.sum,dram__bytes_read.sum",
                                      "--target-processes", "all", "--launch-skip", "3",
                                      "--launch-count", "3", "--log-file", "/job/ncu.csv"}));
}

TEST(NcuProfile, EachRowIsALaunchOfThePlanInBaseUnits) {
  ProfileReply reply = read_ncu_profile(collected_run(), {"scale", "reduce"});
  ASSERT_EQ(reply.status, ProfileStatus::kCollected) << reply.reason_name() << ": " << reply.detail;
  EXPECT_EQ(reply.profiler, "ncu");
  EXPECT_EQ(reply.passes, 12);
  EXPECT_DOUBLE_EQ(reply.overhead_ms, 840);
  ASSERT_EQ(reply.kernels.size(), 2u);
  EXPECT_EQ(reply.kernels[0].launch, 0);
  EXPECT_EQ(reply.kernels[0].kernel, "scale");
  EXPECT_DOUBLE_EQ(reply.kernels[0].metrics.at("dram__bytes_read.sum"), 1024500);
  EXPECT_DOUBLE_EQ(reply.kernels[0].metrics.at("gpu__time_duration.sum"), 12500);
  EXPECT_EQ(reply.kernels[1].launch, 1);
  EXPECT_EQ(reply.kernels[1].kernel, "reduce");
  EXPECT_FALSE(reply.kernels[1].metrics.count("gpu__time_duration.sum"));  // n/a: not collected
}

void expect_unavailable(const ProfileReply& reply, const std::string& reason,
                        const std::string& detail) {
  EXPECT_EQ(reply.status, ProfileStatus::kUnavailable);
  EXPECT_EQ(reply.profiler, "ncu");
  EXPECT_EQ(reply.reason_name(), reason) << reply.detail;
  EXPECT_NE(reply.detail.find(detail), std::string::npos) << reply.detail;
  EXPECT_EQ(std::count(reply.detail.begin(), reply.detail.end(), '\n'), 0) << reply.detail;
  EXPECT_TRUE(reply.kernels.empty());
}

TEST(NcuProfile, ErrNvgpuctrpermIsInsufficientPrivileges) {
  NcuOutcome outcome;
  outcome.log =
      "==PROF== Connected to process 77 (/usr/bin/kforge)\n"
      "==ERROR== ERR_NVGPUCTRPERM - The user does not have permission to access NVIDIA GPU "
      "Performance Counters on the target device 0. For instructions on enabling permissions and "
      "to get more information see https://developer.nvidia.com/ERR_NVGPUCTRPERM\n"
      "==PROF== Disconnected from process 77\n"
      "==WARNING== No kernels were profiled.\n";
  outcome.worker_replies = replies();
  // Whatever ncu's exit status: the code names the refusal.
  for (bool succeeded : {true, false}) {
    outcome.succeeded = succeeded;
    outcome.end = succeeded ? "exit code 0" : "exit code 1";
    expect_unavailable(read_ncu_profile(outcome, {"scale", "reduce"}), "insufficient_privileges",
                       "ncu: ERR_NVGPUCTRPERM - The user does not have permission");
  }
}

TEST(NcuProfile, AFailureOfTheWorkerUnderNcuIsAWorkerFailure) {
  NcuOutcome outcome = collected_run();
  outcome.worker_replies = replies(false);
  expect_unavailable(read_ncu_profile(outcome, {"scale", "reduce"}), "worker_failure",
                     "under ncu: runtime_error: an illegal memory access was encountered");
  outcome.worker_replies = "{\"id\":1,\"ok\":false,\"error\":\"no usable GPU: no device\"}\n";
  expect_unavailable(read_ncu_profile(outcome, {"scale", "reduce"}), "worker_failure",
                     "no usable GPU");
  outcome.worker_replies = "";
  outcome.succeeded = false;
  outcome.end = "killed by signal 9 (Killed)";
  outcome.standard_error = "Traceback ...\nFileNotFoundError: tensors\n";
  expect_unavailable(read_ncu_profile(outcome, {"scale", "reduce"}), "worker_failure",
                     "ended without replying to replay (ncu: killed by signal 9 (Killed)); "
                     "stderr ends: Traceback ...\\nFileNotFoundError: tensors");
}

TEST(NcuProfile, NcuEndingBadlyIsAProfilerErrorWithItsFirstErrorLine) {
  NcuOutcome outcome = collected_run();
  outcome.log = "==ERROR== Failed to profile \"scale\" in process 77\n";
  outcome.succeeded = false;
  outcome.end = "exit code 1";
  expect_unavailable(read_ncu_profile(outcome, {"scale", "reduce"}), "profiler_error",
                     "ncu ended with exit code 1: Failed to profile \"scale\" in process 77");
  // An option this ncu does not know: it never started the worker.
  outcome.log = "==ERROR== unrecognised option '--print-units'. Use --help for further details.\n";
  outcome.worker_replies = "";
  expect_unavailable(read_ncu_profile(outcome, {"scale", "reduce"}), "profiler_error",
                     "unrecognised option '--print-units'");
}

TEST(NcuProfile, ACsvThatIsNotTheRawPageOfThePlansLaunchesIsAProfilerError) {
  NcuOutcome outcome = collected_run();
  outcome.log = "==PROF== Disconnected from process 77\n\"ID\",\"Kernel Name\"\n\"0\",\"scale\n";
  expect_unavailable(read_ncu_profile(outcome, {"scale"}), "profiler_error",
                     "ncu's CSV cannot be read: an unterminated quoted field");
  outcome.log = "garbage\n";
  expect_unavailable(read_ncu_profile(outcome, {"scale"}), "profiler_error",
                     "no header row starting with \"ID\"");
  outcome = collected_run();
  expect_unavailable(read_ncu_profile(outcome, {"scale"}), "profiler_error",
                     "ncu profiled 2 launches where the plan makes 1");
  expect_unavailable(read_ncu_profile(outcome, {"scale", "softmax"}), "profiler_error",
                     "ncu's launch 1 ran 'reduce' where the plan launches 'softmax'");
}

TEST(NcuProfile, NcuNotFoundIsNcuMissing) {
  NcuProfileRun run{.ncu = "kforge-no-such-ncu-program", .job = "/nonexistent/job"};
  ProfileRequest request;
  expect_unavailable(profile_with_ncu(run, request), "ncu_missing",
                     "'kforge-no-such-ncu-program' is not on PATH");
  run.ncu = "/nonexistent/bin/ncu";
  expect_unavailable(profile_with_ncu(run, request), "ncu_missing",
                     "Nsight Compute's CLI is not at /nonexistent/bin/ncu (profile.ncu)");
}

}  // namespace
}  // namespace kforge
