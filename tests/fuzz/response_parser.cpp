// An LLM's answer text: prose, fenced blocks of every kind, or none; the candidate found in it.
// parse_reply never throws: a reply without a usable candidate is a reason.
#include <cstdint>

#include "agents/response_parser.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kforge;
  agents::ParsedReply reply = agents::parse_reply(fuzz::as_text(data, size));
  if (reply.source && (reply.source->size() > agents::kMaxCandidateBytes || !reply.reason.empty()))
    __builtin_trap();  // a candidate over the limit, or one with a reason for having none
  if (!reply.source && reply.reason.empty())
    __builtin_trap();  // no candidate and no reason
  return 0;
}
