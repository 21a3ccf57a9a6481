// sandbox/ptxas_report and sandbox/compile_types: resources from ptxas's report, log
// truncation, the reply's JSON form.
#include <gtest/gtest.h>

#include "harness/util/error.hpp"
#include "sandbox/compile_types.hpp"
#include "sandbox/ptxas_report.hpp"

namespace kforge {
namespace {

constexpr const char* kReport =
    "ptxas info    : 0 bytes gmem\n"
    "ptxas info    : Compiling entry function 'reduce' for 'sm_90'\n"
    "ptxas info    : Function properties for helper\n"
    "ptxas         .     96 bytes stack frame, 8 bytes spill stores, 8 bytes spill loads\n"
    "ptxas info    : Function properties for reduce\n"
    "ptxas         .     2048 bytes stack frame, 16 bytes spill stores, 24 bytes spill loads\n"
    "ptxas info    : Used 40 registers, used 1 barriers, 1024 bytes smem, 368 bytes cmem[0], "
    "2144 bytes cumulative stack size\n"
    "ptxas info    : Compile time = 20.490 ms\n"
    "ptxas info    : Compiling entry function 'scale' for 'sm_90'\n"
    "ptxas info    : Function properties for scale\n"
    "ptxas         .     0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\n"
    "ptxas info    : Used 8 registers, used 0 barriers\n";

TEST(CompileReport, GarbageAndEmptyLogsGiveNoKernels) {
  EXPECT_TRUE(parse_ptxas_report("").empty());
  EXPECT_TRUE(
      parse_ptxas_report("candidate.cu(3): error: expected a ;\nptxas fatal : x\n").empty());
}

TEST(CompileReport, EachKernelGetsItsOwnPropertiesNotItsCallees) {
  auto kernels = parse_ptxas_report(kReport);
  ASSERT_EQ(kernels.size(), 2u);
  const KernelResources& reduce = kernels[0];
  EXPECT_EQ(reduce.name, "reduce");
  EXPECT_EQ(reduce.registers, 40);
  EXPECT_EQ(reduce.barriers, 1);
  EXPECT_EQ(reduce.shared_bytes, 1024);
  EXPECT_EQ(reduce.constant_bytes, 368);
  EXPECT_EQ(reduce.stack_frame_bytes, 2048);
  EXPECT_EQ(reduce.spill_store_bytes, 16);
  EXPECT_EQ(reduce.spill_load_bytes, 24);
  EXPECT_EQ(reduce.local_bytes, 2144);
  const KernelResources& scale = kernels[1];
  EXPECT_EQ(scale.name, "scale");
  EXPECT_EQ(scale.registers, 8);
  EXPECT_EQ(scale.shared_bytes, -1);  // not reported: no static shared memory
  EXPECT_EQ(scale.local_bytes, 0);
}

TEST(CompileReport, LongLogsKeepHeadAndTail) {
  std::string log = "first error\n";
  for (int i = 0; i < 5000; ++i)
    log += "  instantiation of class R<" + std::to_string(i) + ">\n";
  log += "1 error detected\n";
  std::string cut = truncate_log(log, 1024);
  EXPECT_LE(cut.size(), 1100u);
  EXPECT_TRUE(cut.starts_with("first error\n"));
  EXPECT_TRUE(cut.ends_with("1 error detected\n"));
  EXPECT_NE(cut.find("bytes of the log omitted"), std::string::npos);
  EXPECT_EQ(truncate_log("short\n", 1024), "short\n");
}

TEST(CompileReport, RepliesRefuseUnknownStatusesAndRoundTrip) {
  EXPECT_THROW(compile_result_from_json({{"status", "exploded"}}), Error);
  EXPECT_THROW(compile_result_from_json(nlohmann::json::array()), Error);
  EXPECT_THROW(compile_result_from_json({{"status", "ok"}, {"compile_ms", "fast"}}), Error);
  CompileResult result;
  result.status = CompileStatus::kOk;
  result.cubin_path = "/x/candidate.cubin";
  result.kernels = parse_ptxas_report(kReport);
  result.compile_ms = 12.5;
  result.nvrtc_version = "13.0";
  CompileResult back = compile_result_from_json(compile_result_to_json(result));
  EXPECT_EQ(back.status, CompileStatus::kOk);
  EXPECT_EQ(back.cubin_path, result.cubin_path);
  ASSERT_EQ(back.kernels.size(), 2u);
  EXPECT_EQ(back.kernels[0].spill_load_bytes, 24);
  for (auto status :
       {CompileStatus::kOk, CompileStatus::kNvrtcError, CompileStatus::kTimeLimit,
        CompileStatus::kMemoryLimit, CompileStatus::kForbiddenInclude, CompileStatus::kTooLarge,
        CompileStatus::kNotUtf8, CompileStatus::kInvalidDefine, CompileStatus::kWorkerCrashed}) {
    EXPECT_EQ(compile_status_from_name(compile_status_name(status)), status);
  }
}

}  // namespace
}  // namespace kforge
