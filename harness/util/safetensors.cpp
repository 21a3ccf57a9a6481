#include "harness/util/safetensors.hpp"

#include <array>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "harness/util/error.hpp"
#include "harness/util/files.hpp"

namespace kforge {
namespace {

struct DTypeInfo {
  DType dtype;
  std::string_view name;
  std::string_view torch_name;
  size_t size;
  bool floating;
};

constexpr std::array<DTypeInfo, 10> kDTypes = {{
    {DType::kF64, "F64", "float64", 8, true},
    {DType::kF32, "F32", "float32", 4, true},
    {DType::kF16, "F16", "float16", 2, true},
    {DType::kBF16, "BF16", "bfloat16", 2, true},
    {DType::kI64, "I64", "int64", 8, false},
    {DType::kI32, "I32", "int32", 4, false},
    {DType::kI16, "I16", "int16", 2, false},
    {DType::kI8, "I8", "int8", 1, false},
    {DType::kU8, "U8", "uint8", 1, false},
    {DType::kBool, "BOOL", "bool", 1, false},
}};

const DTypeInfo& info(DType dtype) {
  for (const DTypeInfo& entry : kDTypes) {
    if (entry.dtype == dtype)
      return entry;
  }
  throw Error("unknown dtype value", "safetensors");
}

// Header sizes beyond this are refused: no honest file of kforge's needs one.
constexpr uint64_t kMaxHeaderBytes = 100u << 20;

}  // namespace

std::string_view dtype_name(DType dtype) {
  return info(dtype).name;
}
std::string_view dtype_torch_name(DType dtype) {
  return info(dtype).torch_name;
}
size_t dtype_size(DType dtype) {
  return info(dtype).size;
}
bool dtype_is_floating(DType dtype) {
  return info(dtype).floating;
}

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const DTypeInfo& entry : kDTypes) {
    if (entry.name == name)
      return entry.dtype;
  }
  return std::nullopt;
}

std::optional<DType> dtype_from_torch_name(std::string_view name) {
  if (name.starts_with("torch."))
    name.remove_prefix(6);
  for (const DTypeInfo& entry : kDTypes) {
    if (entry.torch_name == name)
      return entry.dtype;
  }
  return std::nullopt;
}

int64_t Tensor::numel() const {
  int64_t count = 1;
  for (int64_t extent : shape)
    count *= extent;
  return count;
}

SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& where) {
  if (bytes.size() < 8)
    throw Error("safetensors file is shorter than its 8-byte header length", where);
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i)
    header_size = (header_size << 8) | static_cast<uint8_t>(bytes[i]);
  if (header_size > kMaxHeaderBytes || header_size > bytes.size() - 8) {
    throw Error("safetensors header length " + std::to_string(header_size) +
                    " exceeds the file size " + std::to_string(bytes.size()),
                where);
  }
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.substr(8, header_size));
  } catch (const nlohmann::json::exception& failure) {
    throw Error(std::string("safetensors header is not valid JSON: ") + failure.what(), where);
  }
  if (!header.is_object())
    throw Error("safetensors header is not a JSON object", where);

  std::string_view data = bytes.substr(8 + header_size);
  SafetensorsFile file;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& [name, entry] : header.items()) {
    std::string at = where + ": tensor '" + name + "'";
    if (name == "__metadata__") {
      if (!entry.is_object())
        throw Error("__metadata__ is not an object", where);
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string())
          throw Error("__metadata__ value is not a string", where + ": " + key);
        file.metadata[key] = value.get<std::string>();
      }
      continue;
    }
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
        !entry.contains("data_offsets")) {
      throw Error("entry lacks dtype, shape or data_offsets", at);
    }
    Tensor tensor;
    const auto& dtype = entry["dtype"];
    auto parsed = dtype.is_string() ? dtype_from_name(dtype.get<std::string>()) : std::nullopt;
    if (!parsed)
      throw Error("unknown dtype " + dtype.dump(), at);
    tensor.dtype = *parsed;
    const auto& shape = entry["shape"];
    if (!shape.is_array())
      throw Error("shape is not an array", at);
    uint64_t count = 1;
    for (const auto& extent : shape) {
      if (!extent.is_number_unsigned())
        throw Error("shape has a non-integer or negative extent", at);
      uint64_t value = extent.get<uint64_t>();
      if (value != 0 && count > std::numeric_limits<uint64_t>::max() / 8 / value)
        throw Error("shape is too large", at);
      count *= value;
      tensor.shape.push_back(static_cast<int64_t>(value));
    }
    const auto& offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned()) {
      throw Error("data_offsets is not a pair of non-negative integers", at);
    }
    uint64_t begin = offsets[0].get<uint64_t>();
    uint64_t end = offsets[1].get<uint64_t>();
    if (begin > end || end > data.size()) {
      throw Error("data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                      ") fall outside the " + std::to_string(data.size()) + " data bytes",
                  at);
    }
    if (end - begin != count * dtype_size(tensor.dtype)) {
      throw Error("holds " + std::to_string(end - begin) + " bytes but its shape needs " +
                      std::to_string(count * dtype_size(tensor.dtype)),
                  at);
    }
    ranges.emplace_back(begin, end);
    tensor.bytes.assign(data.substr(begin, end - begin));
    file.tensors.emplace(name, std::move(tensor));
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].first < ranges[i - 1].second)
      throw Error("tensor data ranges overlap", where);
  }
  return file;
}

SafetensorsFile read_safetensors(const std::filesystem::path& path) {
  return parse_safetensors(files::read(path), path.string());
}

std::string serialize_safetensors(const SafetensorsFile& file) {
  nlohmann::json header = nlohmann::json::object();
  if (!file.metadata.empty())
    header["__metadata__"] = file.metadata;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : file.tensors) {
    if (tensor.bytes.size() != static_cast<size_t>(tensor.numel()) * dtype_size(tensor.dtype))
      throw Error("tensor bytes do not match its shape and dtype", "tensor '" + name + "'");
    header[name] = {{"dtype", dtype_name(tensor.dtype)},
                    {"shape", tensor.shape},
                    {"data_offsets", {offset, offset + tensor.bytes.size()}}};
    offset += tensor.bytes.size();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // data starts 8-byte aligned
  std::string out(8, '\0');
  uint64_t size = text.size();
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<char>((size >> (8 * i)) & 0xff);
  out += text;
  for (const auto& [name, tensor] : file.tensors)
    out += tensor.bytes;
  return out;
}

void write_safetensors(const std::filesystem::path& path, const SafetensorsFile& file) {
  files::write_atomic(path, serialize_safetensors(file));
}

}  // namespace kforge
