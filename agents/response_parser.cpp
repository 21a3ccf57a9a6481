#include "agents/response_parser.hpp"

#include <vector>

#include "harness/util/strings.hpp"

namespace kforge::agents {

std::vector<FencedBlock> fenced_blocks(std::string_view text) {
  std::vector<FencedBlock> blocks;
  std::optional<FencedBlock> open;
  char fence_char = 0;
  size_t fence_length = 0;
  size_t position = 0;
  while (position <= text.size()) {
    size_t end = text.find('\n', position);
    if (end == std::string_view::npos)
      end = text.size();
    std::string_view line = text.substr(position, end - position);
    if (end == text.size() && line.empty())
      break;  // the empty remainder after a final newline is not a line
    std::string_view stripped = strings::trim(line);
    size_t run = 0;
    char first = stripped.empty() ? 0 : stripped.front();
    if (first == '`' || first == '~') {
      while (run < stripped.size() && stripped[run] == first)
        ++run;
    }
    if (!open && run >= 3) {
      open = FencedBlock{std::string(strings::trim(stripped.substr(run))), {}, false};
      fence_char = first;
      fence_length = run;
    } else if (open && run >= fence_length && first == fence_char &&
               strings::trim(stripped.substr(run)).empty()) {
      open->closed = true;
      blocks.push_back(std::move(*open));
      open.reset();
    } else if (open) {
      open->text.append(line);
      open->text.push_back('\n');
    }
    if (end == text.size())
      break;
    position = end + 1;
  }
  if (open)  // an answer cut off by the token limit: keep what there is
    blocks.push_back(std::move(*open));
  return blocks;
}

namespace {

bool has_launch(std::string_view text) {
  return text.find("kforge:launch") != std::string_view::npos;
}

ParsedReply accept(std::string source, int blocks, bool closed) {
  ParsedReply parsed;
  parsed.code_blocks = blocks;
  parsed.closed = closed;
  if (source.find("__global__") == std::string::npos) {
    parsed.reason = "the code with the kforge:launch comment has no __global__ kernel";
    return parsed;
  }
  if (source.size() > kMaxCandidateBytes) {
    parsed.reason = "the candidate is " + std::to_string(source.size()) +
                    " bytes, more than the limit of " + std::to_string(kMaxCandidateBytes);
    return parsed;
  }
  parsed.source = std::move(source);
  return parsed;
}

}  // namespace

ParsedReply parse_reply(std::string_view reply) {
  ParsedReply parsed;
  if (strings::trim(reply).empty()) {
    parsed.reason = "the answer is empty";
    return parsed;
  }
  std::vector<FencedBlock> blocks = fenced_blocks(reply);
  int count = static_cast<int>(blocks.size());
  // The last block with a launch plan: models that revise themselves put the final one last.
  for (auto block = blocks.rbegin(); block != blocks.rend(); ++block) {
    if (has_launch(block->text))
      return accept(block->text, count, block->closed);
  }
  if (count == 0 && has_launch(reply)) {
    // Unfenced code: from the comment that opens the plan to the last closing brace.
    size_t marker = reply.find("kforge:launch");
    size_t start = reply.rfind("/*", marker);
    size_t end = reply.rfind('}');
    if (start != std::string_view::npos && end != std::string_view::npos && end > marker)
      return accept(std::string(reply.substr(start, end - start + 1)) + "\n", count, false);
  }
  parsed.code_blocks = count;
  if (count == 0)
    parsed.reason = "the answer contains no code block and no kforge:launch comment";
  else
    parsed.reason = "the answer has " + std::to_string(count) +
                    " code block(s) but none has a kforge:launch comment";
  return parsed;
}

}  // namespace kforge::agents
