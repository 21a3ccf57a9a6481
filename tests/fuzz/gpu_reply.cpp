// One reply line of a `kforge worker gpu`, read as the parent (sandbox/gpu_worker_client.cpp)
// reads it: the envelope ("ok", "id"), then the typed reply of each request kind (hello's
// DeviceDescription, RunReply, TimeReply, DeviceMeasurement) or the WorkerFailure. The worker
// runs candidate code, so its replies are outside input: anything malformed must become a
// worker_crashed failure, never a crash of the parent.
// Allowed failures: kforge::Error. Anything else, including nlohmann's exceptions, is a finding.
#include <cstdint>
#include <nlohmann/json.hpp>

#include "harness/util/error.hpp"
#include "sandbox/gpu_protocol.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

template <typename Reply>
void read_as(const nlohmann::json& body) {
  try {
    Reply reply = Reply::from_json(body, "GPU worker reply");
    (void)reply.to_json().dump();
  } catch (const kforge::Error& error) {
    (void)error.what();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kforge;
  nlohmann::json reply = nlohmann::json::parse(fuzz::as_text(data, size), nullptr, false);
  if (!reply.is_object() || !reply.contains("ok") || !reply["ok"].is_boolean())
    return 0;  // the client's "not a reply" branch
  nlohmann::json body = reply;
  body.erase("id");
  body.erase("ok");
  if (reply.contains("device"))
    read_as<DeviceDescription>(reply["device"]);
  if (reply.contains("failure"))
    read_as<WorkerFailure>(reply["failure"]);
  read_as<RunReply>(body);
  read_as<TimeReply>(body);
  read_as<DeviceMeasurement>(body);
  return 0;
}
