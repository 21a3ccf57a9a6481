// What a candidate may hand to NVRTC, checked before NVRTC sees it (in the parent, and again in
// the worker): a size limit, UTF-8 text, includes limited to the CUDA and CCCL headers, defines
// that are one line, and NVRTC options from an allowed list. The include check works on
// preprocessing tokens: line splices, comments, string and raw-string literals, digraphs
// (`%:include`), `__has_include` probes and token pasting that could build one are all seen.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/options/compile_pool_options.hpp"
#include "sandbox/compile_types.hpp"

namespace kforge {

struct PolicyViolation {
  CompileStatus status;
  std::string detail;  // one line: what, and where (name:line:column)
};

// The first reason `request` must not be compiled, or nullopt. `include_roots` are the folders
// whose headers may be included (cuda_include_roots()).
std::optional<PolicyViolation> check_compile_request(
    const CompileRequest& request, const std::vector<std::filesystem::path>& include_roots,
    size_t max_source_bytes = kDefaultMaxSourceBytes);

// The byte offset of the first byte that makes `text` invalid UTF-8 (or a NUL byte), if any.
std::optional<size_t> first_invalid_utf8(std::string_view text);

// The checks on the text alone, size first (so an oversized source is refused before a byte of
// it is scanned), then UTF-8: what a caller runs before parsing a candidate, so that nothing
// reads a source the compile would refuse. `name` is used in messages.
std::optional<PolicyViolation> check_source_text(std::string_view source, std::string_view name,
                                                 size_t max_source_bytes = kDefaultMaxSourceBytes);

// Throws Error naming the first option NVRTC must not be given by a caller: only options that
// change code generation are allowed, never ones that add include paths, files or outputs.
void check_nvrtc_options(const std::vector<std::string>& options);

}  // namespace kforge
