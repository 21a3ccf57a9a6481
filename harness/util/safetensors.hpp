// Tensors as kforge stores and exchanges them: the safetensors format (an 8-byte little-endian
// header length, a JSON header of {name: {dtype, shape, data_offsets}}, then the raw bytes).
// The Python reference runner writes these files and kforge reads them here, in C++.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kforge {

enum class DType { kF64, kF32, kF16, kBF16, kI64, kI32, kI16, kI8, kU8, kBool };

// "F32", "BF16", ... as safetensors spells them; and back (nullopt for an unknown name).
std::string_view dtype_name(DType dtype);
std::optional<DType> dtype_from_name(std::string_view name);
// "float32", "bfloat16", ... as torch spells them; and back.
std::string_view dtype_torch_name(DType dtype);
std::optional<DType> dtype_from_torch_name(std::string_view name);
size_t dtype_size(DType dtype);
bool dtype_is_floating(DType dtype);

struct Tensor {
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  std::string bytes;  // little-endian, row-major, contiguous

  int64_t numel() const;
};

// Name-ordered, as the format stores them.
using TensorMap = std::map<std::string, Tensor>;

struct SafetensorsFile {
  TensorMap tensors;
  std::map<std::string, std::string> metadata;  // the optional "__metadata__" entry
};

// Parses the bytes of a safetensors file; throws Error naming `where` and what is wrong
// (truncated header, bad JSON, overlapping or out-of-range offsets, size that does not match
// the shape, unknown dtype).
SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& where);
SafetensorsFile read_safetensors(const std::filesystem::path& path);

std::string serialize_safetensors(const SafetensorsFile& file);
void write_safetensors(const std::filesystem::path& path, const SafetensorsFile& file);

}  // namespace kforge
