// A safetensors file as the reference runner and the GPU worker write it and the parent reads
// it; what parses is written again and must parse to the same tensors.
// Allowed failures: kforge::Error. Anything else is a finding.
#include <cstdint>

#include "harness/util/error.hpp"
#include "harness/util/safetensors.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kforge;
  SafetensorsFile file;
  try {
    file = parse_safetensors(fuzz::as_text(data, size), "fuzz.safetensors");
  } catch (const Error& error) {
    (void)error.what();
    return 0;
  }
  for (const auto& [name, tensor] : file.tensors)
    if (tensor.numel() * static_cast<int64_t>(dtype_size(tensor.dtype)) !=
        static_cast<int64_t>(tensor.bytes.size()))
      __builtin_trap();  // a tensor whose bytes do not match its shape got through
  SafetensorsFile again = parse_safetensors(serialize_safetensors(file), "again");
  if (again.tensors.size() != file.tensors.size() || again.metadata != file.metadata)
    __builtin_trap();
  return 0;
}
