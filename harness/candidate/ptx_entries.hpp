// The kernel entry points of compiled PTX: `.entry NAME(.param .u64 NAME_param_0, ...)`. PTX is
// the truth about parameter sizes (what the driver copies), while only the source says whether
// an 8-byte `.u64` is a pointer or a 64-bit integer; plan_validation uses both. The directives
// between an entry's parameters and its body carry `__launch_bounds__`: `.maxntid X[, Y[, Z]]`
// (the block may have at most X * Y * Z threads, or the launch fails) and `.reqntid` (the block
// must be exactly that).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kforge {

struct PtxParameter {
  std::string name;  // "scale_rows_param_0"
  std::string type;  // the PTX type: "u64", "f32", "b8", ...
  size_t size = 0;   // bytes: the type's size times the array length
  size_t alignment = 0;
};

struct PtxEntry {
  std::string name;
  std::vector<PtxParameter> parameters;
  int64_t max_threads = 0;              // .maxntid: the product of its extents; 0: none
  std::vector<int64_t> required_block;  // .reqntid: the extents it gives; empty: none
};

// Every `.entry` of `ptx`, in order. PTX comes from kforge's own compile worker, so text it
// cannot read is an infrastructure failure: throws kforge::Error naming `where` and the line.
std::vector<PtxEntry> parse_ptx_entries(std::string_view ptx, const std::string& where);

const PtxEntry* find_entry(const std::vector<PtxEntry>& entries, std::string_view name);

}  // namespace kforge
