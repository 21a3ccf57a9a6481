#include "harness/util/safetensors.hpp"

#include <gtest/gtest.h>

#include "harness/util/error.hpp"

namespace kforge {
namespace {

Tensor make_tensor(DType dtype, std::vector<int64_t> shape, char fill) {
  Tensor tensor;
  tensor.dtype = dtype;
  tensor.shape = std::move(shape);
  tensor.bytes.assign(static_cast<size_t>(tensor.numel()) * dtype_size(dtype), fill);
  return tensor;
}

std::string with_header(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  uint64_t size = header.size();
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<char>((size >> (8 * i)) & 0xff);
  return out + header + data;
}

TEST(Safetensors, RoundTripsTensorsAndMetadata) {
  SafetensorsFile file;
  file.tensors["x"] = make_tensor(DType::kF32, {2, 3}, 1);
  file.tensors["conv.weight"] = make_tensor(DType::kBF16, {4}, 2);
  file.tensors["empty"] = make_tensor(DType::kI64, {0, 5}, 0);
  file.metadata["torch"] = "2.11";
  std::string bytes = serialize_safetensors(file);
  SafetensorsFile back = parse_safetensors(bytes, "memory");
  ASSERT_EQ(back.tensors.size(), 3u);
  EXPECT_EQ(back.tensors["x"].shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(back.tensors["x"].bytes, file.tensors["x"].bytes);
  EXPECT_EQ(back.tensors["conv.weight"].dtype, DType::kBF16);
  EXPECT_EQ(back.tensors["empty"].numel(), 0);
  EXPECT_EQ(back.metadata.at("torch"), "2.11");
}

TEST(Safetensors, HeaderStartsDataOnAnEightByteBoundary) {
  SafetensorsFile file;
  file.tensors["a"] = make_tensor(DType::kU8, {3}, 7);
  std::string bytes = serialize_safetensors(file);
  uint64_t header = 0;
  for (int i = 7; i >= 0; --i)
    header = (header << 8) | static_cast<uint8_t>(bytes[i]);
  EXPECT_EQ((8 + header) % 8, 0u);
  EXPECT_EQ(bytes.substr(8 + header), std::string(3, 7));
}

void expect_rejected(const std::string& bytes, const std::string& fragment) {
  try {
    parse_safetensors(bytes, "bad.safetensors");
    FAIL() << "accepted a file that should fail with: " << fragment;
  } catch (const Error& failure) {
    EXPECT_NE(std::string(failure.what()).find(fragment), std::string::npos) << failure.what();
    EXPECT_NE(std::string(failure.what()).find("bad.safetensors"), std::string::npos);
  }
}

TEST(Safetensors, RejectsCorruptFiles) {
  expect_rejected("abc", "shorter than");
  expect_rejected(with_header(std::string(10, 'x'), "") + "", "not valid JSON");
  std::string huge(8, '\xff');
  expect_rejected(huge + "{}", "exceeds the file size");
  expect_rejected(with_header("[1,2]", ""), "not a JSON object");
  expect_rejected(with_header(R"({"x":{"dtype":"F99","shape":[1],"data_offsets":[0,4]}})", "abcd"),
                  "unknown dtype");
  expect_rejected(with_header(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", "abcd"),
                  "shape needs 8");
  expect_rejected(with_header(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}})", "abcd"),
                  "fall outside");
  expect_rejected(with_header(R"({"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", "abcd"),
                  "negative");
  expect_rejected(with_header(R"({"x":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                              R"("y":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})",
                              "abcd"),
                  "overlap");
  expect_rejected(with_header(R"({"x":{"dtype":"F32"}})", ""), "lacks");
}

TEST(Safetensors, DTypeNamesRoundTrip) {
  for (DType dtype : {DType::kF64, DType::kF32, DType::kF16, DType::kBF16, DType::kI64, DType::kI32,
                      DType::kI16, DType::kI8, DType::kU8, DType::kBool}) {
    EXPECT_EQ(dtype_from_name(dtype_name(dtype)), dtype);
    EXPECT_EQ(dtype_from_torch_name(std::string("torch.") + std::string(dtype_torch_name(dtype))),
              dtype);
  }
  EXPECT_FALSE(dtype_from_name("F8").has_value());
}

}  // namespace
}  // namespace kforge
