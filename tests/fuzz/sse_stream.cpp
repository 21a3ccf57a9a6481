// A streamed LLM response: bytes cut into chunks at fuzzer-chosen places, split into
// server-sent events (agents/http_client's SseParser, as libcurl hands it chunks), each event
// taken by both wire protocols (OpenAI Chat Completions, Anthropic Messages) as provider.cpp
// does; and the same bytes as a whole non-streamed answer and as an error body.
// Nothing here may throw: a malformed event is StreamState::problem, a malformed answer a reason.
#include <cstdint>
#include <nlohmann/json.hpp>

#include "agents/http_client.hpp"
#include "agents/wire_protocol.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using namespace kforge::agents;

void stream(const WireProtocol& protocol, std::string_view bytes, uint8_t cut) {
  StreamState state;
  TextCallback on_text = [](std::string_view) {};
  state.on_text = &on_text;
  SseParser parser([&](const SseEvent& event) {
    protocol.on_event(event, state);
    return !state.problem.has_value() && !state.done;
  });
  // Chunks of 1 to 16 bytes, their sizes cycling from the first input byte.
  size_t step = 1 + cut % 16;
  while (!bytes.empty()) {
    size_t length = std::min(step, bytes.size());
    if (!parser.feed(bytes.substr(0, length)))
      break;
    bytes.remove_prefix(length);
    step = 1 + (step * 7 + 3) % 16;
  }
  (void)parser.has_partial_event();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  static const auto openai = make_openai_protocol();
  static const auto anthropic = make_anthropic_protocol();
  std::string_view bytes = kforge::fuzz::as_text(data + 1, size - 1);
  for (const WireProtocol* protocol : {openai.get(), anthropic.get()}) {
    stream(*protocol, bytes, data[0]);
    nlohmann::json answer = nlohmann::json::parse(bytes, nullptr, false);
    if (answer.is_discarded())
      continue;
    LlmResponse response;
    (void)protocol->parse_answer(answer, response);
    (void)protocol->error_message(answer);
    (void)protocol->says_unknown_model(400, answer);
  }
  return 0;
}
