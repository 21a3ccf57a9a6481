// The .entry parameter lists of PTX text. PTX comes from kforge's own compile worker (a cached
// file can be damaged), so unreadable PTX is a kforge::Error.
// Allowed failures: kforge::Error. Anything else is a finding.
#include <cstdint>

#include "harness/candidate/ptx_entries.hpp"
#include "harness/util/error.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kforge;
  try {
    std::vector<PtxEntry> entries = parse_ptx_entries(fuzz::as_text(data, size), "kernel.ptx");
    for (const PtxEntry& entry : entries)
      (void)find_entry(entries, entry.name);
  } catch (const Error& error) {
    (void)error.what();
  }
  return 0;
}
