// The GPU worker protocol's rules that both sides rely on without saying them: the two poison
// patterns, and guard violations as they travel in replies.
#include "sandbox/gpu_protocol.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "harness/util/error.hpp"
#include "harness/verification/compare.hpp"

namespace kforge {
namespace {

Tensor filled(DType dtype, uint8_t byte) {
  Tensor tensor;
  tensor.dtype = dtype;
  tensor.shape = {1};
  tensor.bytes.assign(dtype_size(dtype), static_cast<char>(byte));
  return tensor;
}

TEST(GpuProtocol, RepeatsAlternateANanPoisonAndALargeFinitePoison) {
  EXPECT_EQ(poison_byte_for_repeat(0), 0xFF);
  EXPECT_EQ(poison_byte_for_repeat(1), 0x7B);
  EXPECT_EQ(poison_byte_for_repeat(2), 0xFF);
  EXPECT_EQ(kFreshPoisonByte, 0x7B);
  EXPECT_EQ(kPoisonByte, kPoisonBytes[0]);  // compare.hpp names the same bytes
  EXPECT_EQ(kSecondPoisonByte, kPoisonBytes[1]);
  for (DType dtype : {DType::kF64, DType::kF32, DType::kF16, DType::kBF16}) {
    EXPECT_TRUE(std::isnan(element_as_double(filled(dtype, kPoisonBytes[0]), 0)))
        << dtype_name(dtype);
    double second = element_as_double(filled(dtype, kPoisonBytes[1]), 0);
    // Finite, and larger than any value a task's outputs hold in practice: fmaxf keeps it.
    EXPECT_TRUE(std::isfinite(second)) << dtype_name(dtype);
    EXPECT_GT(second, 6e4) << dtype_name(dtype);
  }
  EXPECT_GT(element_as_double(filled(DType::kF32, kPoisonBytes[1]), 0), 1e36);
  for (DType dtype : {DType::kI64, DType::kI32, DType::kI16, DType::kI8, DType::kU8})
    EXPECT_GE(element_as_double(filled(dtype, kPoisonBytes[1]), 0), 123) << dtype_name(dtype);
  // Guard zones keep cuMemAlloc's alignment.
  EXPECT_EQ(kGuardBytes % 256, 0u);
}

TEST(GpuProtocol, GuardViolationsTravelInRunAndTimeReplies) {
  RunReply reply;
  reply.outputs = {"/tmp/a", "/tmp/b"};
  reply.inputs_after = "/tmp/c";
  reply.poison_bytes = {0xFF, 0x7B};
  reply.guard_violations = {{"out", "after", 0, 4, "relu", 1}};
  RunReply back = RunReply::from_json(reply.to_json(), "test");
  ASSERT_EQ(back.guard_violations.size(), 1u);
  EXPECT_EQ(back.guard_violations[0].tensor, "out");
  EXPECT_EQ(back.guard_violations[0].side, "after");
  EXPECT_EQ(back.guard_violations[0].changed_bytes, 4);
  EXPECT_EQ(back.guard_violations[0].kernel, "relu");
  EXPECT_EQ(back.guard_violations[0].repeat, 1);
  EXPECT_EQ(back.poison_bytes, (std::vector<int>{0xFF, 0x7B}));

  TimeReply timed;
  timed.device_us = {1.0};
  timed.guard_violations = {{"x", "before", 12, 1, "", -1}};
  TimeReply timed_back = TimeReply::from_json(timed.to_json(), "test");
  ASSERT_EQ(timed_back.guard_violations.size(), 1u);
  EXPECT_EQ(timed_back.guard_violations[0].offset, 12);

  // A reply without the field (an older worker's) has none; a malformed one is an Error.
  nlohmann::json plain = {{"outputs", {"/tmp/a"}}, {"inputs_after", "/tmp/c"}};
  EXPECT_TRUE(RunReply::from_json(plain, "test").guard_violations.empty());
  plain["guard_violations"] = {{{"tensor", "out"}, {"side", "sideways"}}};
  EXPECT_THROW(RunReply::from_json(plain, "test"), Error);
  plain["guard_violations"] = "out";
  EXPECT_THROW(RunReply::from_json(plain, "test"), Error);
}

TEST(GpuProtocol, DeviceMeasurementsKeepEveryCeiling) {
  DeviceMeasurement measurement;
  measurement.copy_bandwidth_bytes_per_s = 1;
  measurement.read_bandwidth_bytes_per_s = 2;
  measurement.write_bandwidth_bytes_per_s = 3;
  measurement.kernel_copy_bandwidth_bytes_per_s = 4;
  measurement.theoretical_bandwidth_bytes_per_s = 5;
  measurement.peak_fp32_flops_per_s = 6;
  measurement.peak_fp16_tensor_flops_per_s = 7;
  measurement.peak_bf16_tensor_flops_per_s = 8;
  measurement.tensor_full_rate = true;
  DeviceMeasurement back = DeviceMeasurement::from_json(measurement.to_json(), "test");
  EXPECT_EQ(back.read_bandwidth_bytes_per_s, 2);
  EXPECT_EQ(back.write_bandwidth_bytes_per_s, 3);
  EXPECT_EQ(back.kernel_copy_bandwidth_bytes_per_s, 4);
  EXPECT_EQ(back.theoretical_bandwidth_bytes_per_s, 5);
  EXPECT_EQ(back.peak_bf16_tensor_flops_per_s, 8);
  EXPECT_TRUE(back.tensor_full_rate);
  // An older worker's reply: the new figures are 0 (not measured).
  DeviceMeasurement old = DeviceMeasurement::from_json(
      {{"copy_bandwidth_bytes_per_s", 1.0}, {"peak_fp32_flops_per_s", 2.0}}, "test");
  EXPECT_EQ(old.read_bandwidth_bytes_per_s, 0);
  EXPECT_FALSE(old.tensor_full_rate);
}

TEST(GpuProtocol, ProfileRequestsAndRepliesRoundTrip) {
  ProfileRequest request{.id = 7,
                         .cubin = "/job/k.cubin",
                         .plan = {{"launches", nlohmann::json::array()}},
                         .tensors = "/job/in.safetensors",
                         .outputs = {{"out", "F32", {4, 8}}},
                         .metrics = {"dram__bytes_read.sum", "gpu__time_duration.sum"},
                         .out_dir = "/job"};
  nlohmann::json wire = request.to_json();
  EXPECT_EQ(wire["op"], "profile");
  ProfileRequest request_back = ProfileRequest::from_json(wire, "test");
  EXPECT_EQ(request_back.metrics, request.metrics);
  EXPECT_EQ(request_back.outputs[0].shape, (std::vector<int64_t>{4, 8}));

  ProfileReply reply;
  reply.status = ProfileStatus::kCollected;
  reply.chip = "GH100";
  reply.passes = 12;
  reply.overhead_ms = 41.5;
  reply.kernels.push_back(
      {0, "scale_rows", {{"dram__bytes_read.sum", 4096.0}, {"launch__registers_per_thread", 32}}});
  ProfileReply back = ProfileReply::from_json(reply.to_json(), "test");
  EXPECT_EQ(back.status, ProfileStatus::kCollected);
  EXPECT_EQ(back.chip, "GH100");
  EXPECT_EQ(back.passes, 12);
  EXPECT_DOUBLE_EQ(back.overhead_ms, 41.5);
  ASSERT_EQ(back.kernels.size(), 1u);
  EXPECT_EQ(back.kernels[0].kernel, "scale_rows");
  EXPECT_DOUBLE_EQ(back.kernels[0].metrics.at("dram__bytes_read.sum"), 4096.0);
}

TEST(GpuProtocol, AnUnavailableProfileMustSayWhy) {
  ProfileReply unavailable;
  unavailable.reason = ProfileUnavailableReason::kInsufficientPrivileges;
  EXPECT_EQ(unavailable.to_json()["reason"], "insufficient_privileges");
  EXPECT_EQ(ProfileReply::from_json(unavailable.to_json(), "test").reason,
            ProfileUnavailableReason::kInsufficientPrivileges);
  nlohmann::json silent = unavailable.to_json();
  silent["reason"] = "";
  EXPECT_THROW(ProfileReply::from_json(silent, "test"), Error);
  nlohmann::json unknown = unavailable.to_json();
  unknown["status"] = "partial";
  EXPECT_THROW(ProfileReply::from_json(unknown, "test"), Error);
  nlohmann::json strange = unavailable.to_json();
  strange["reason"] = "gremlins";
  try {
    ProfileReply::from_json(strange, "reply 3");
    FAIL() << "an unknown reason was read";
  } catch (const Error& error) {
    EXPECT_EQ(error.message(),
              "field 'reason' is 'gremlins', not a reason a profile is unavailable");
    EXPECT_EQ(error.where(), "reply 3");
  }
  // A metric value that is not a number (a NaN dumped as null) is a malformed reply.
  ProfileReply collected;
  collected.status = ProfileStatus::kCollected;
  collected.kernels.push_back({0, "k", {{"dram__bytes_read.sum", 1.0}}});
  nlohmann::json null_value = collected.to_json();
  null_value["kernels"][0]["metrics"]["dram__bytes_read.sum"] = nullptr;
  EXPECT_THROW(ProfileReply::from_json(null_value, "test"), Error);
}

}  // namespace
}  // namespace kforge
