// What a candidate may hand to NVRTC (sandbox/source_policy): the source (size, UTF-8, includes
// through splices, comments, literals, digraphs, __has_include and token pasting), a define's
// name and value, and NVRTC options. The input is cut at "\n--\n" lines: source, then a define
// name, its value, then options one per line.
// check_compile_request returns a violation and must not throw; check_nvrtc_options throws
// kforge::Error. Anything else is a finding.
#include <cstdint>
#include <filesystem>
#include <vector>

#include "harness/util/error.hpp"
#include "sandbox/source_policy.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kforge;
  static const std::vector<std::filesystem::path> roots = {KFORGE_CUDA_INCLUDE_DIR};
  std::string_view input = fuzz::as_text(data, size);
  CompileRequest request;
  request.source = std::string(fuzz::part(input, 0));
  std::string define_name(fuzz::part(input, 1));
  if (!define_name.empty())
    request.defines[define_name] = std::string(fuzz::part(input, 2));
  std::string_view options = fuzz::part(input, 3);
  while (!options.empty()) {
    size_t end = options.find('\n');
    request.options.emplace_back(options.substr(0, end));
    options.remove_prefix(end == std::string_view::npos ? options.size() : end + 1);
  }
  if (auto violation = check_compile_request(request, roots, 64 * 1024))
    (void)compile_status_name(violation->status);
  (void)first_invalid_utf8(input);
  try {
    check_nvrtc_options(request.options);
  } catch (const Error& error) {
    (void)error.what();
  }
  return 0;
}
