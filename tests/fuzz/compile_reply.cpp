// One reply line of a `kforge worker compile`, read as the parent (sandbox/compile_pool.cpp)
// reads it: JSON, an object, its id, then compile_result_from_json (the typed reply with every
// kernel's ptxas resources). A worker that answers with garbage must end as worker_crashed,
// never crash the parent.
// Allowed failures: kforge::Error (the pool turns it into worker_crashed). Anything else,
// including nlohmann's own exceptions, is a finding.
#include <cstdint>
#include <nlohmann/json.hpp>

#include "harness/util/error.hpp"
#include "sandbox/compile_types.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kforge;
  nlohmann::json reply = nlohmann::json::parse(fuzz::as_text(data, size), nullptr, false);
  if (!reply.is_object())
    return 0;  // the pool's "not its reply" branch
  try {
    CompileResult result = compile_result_from_json(reply);
    (void)compile_status_name(result.status);
    (void)compile_result_to_json(result).dump();
    for (const KernelResources& kernel : result.kernels)
      (void)resources_to_json(kernel);
    (void)truncate_log(result.log, 64);
  } catch (const Error& error) {
    (void)error.what();
  }
  return 0;
}
