// Finding the candidate .cu in an LLM's answer: prose around it, ```cuda / ```cpp / ``` or
// ~~~ fences, several blocks (the one with `kforge:launch` wins; the last of several), or no
// fence at all. An answer without a usable candidate gives the reason, to be recorded.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kforge::agents {

struct ParsedReply {
  std::optional<std::string> source;  // the candidate, when one was found
  std::string reason;                 // why there is none; empty when there is
  int code_blocks = 0;                // fenced blocks seen
  // The candidate's fence was closed. An answer cut off at its token limit keeps its unclosed
  // last block, and unfenced code has no end to check: such a candidate may be cut short.
  bool closed = false;
};

// Candidates larger than this are refused (a runaway answer is not a kernel).
constexpr size_t kMaxCandidateBytes = 256 * 1024;

ParsedReply parse_reply(std::string_view reply);

// A fenced code block of a markdown answer. A fence is a line whose first non-blank characters
// are three or more backticks or tildes; it is closed by a line of at least as many of the same
// character and nothing else.
struct FencedBlock {
  std::string language;  // what follows the opening fence ("cuda", "json", "")
  std::string text;
  bool closed = false;  // false for a last block cut off (by the token limit)
};
std::vector<FencedBlock> fenced_blocks(std::string_view text);

}  // namespace kforge::agents
