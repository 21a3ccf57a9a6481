// What the libFuzzer targets share (docs/fuzzing.md). Each target feeds one parser of outside
// input the fuzzer's bytes and lets through only the failures that parser documents (a
// PlanError, a kforge::Error, a KernelError, ...): anything else that escapes, a sanitizer
// report, a hang or a leak is a finding. libFuzzer reports an escaped exception as a crash
// (std::terminate aborts).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kforge {
struct CounterSet;
}  // namespace kforge

namespace kforge::fuzz {

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// An in-memory file (memfd) that parsers which only take a path can read, rewritten on every
// input without touching a disk: path() is /proc/self/fd/N.
class MemoryFile {
 public:
  explicit MemoryFile(const char* name);
  ~MemoryFile();
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;

  void write(std::string_view bytes);
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

// Whether `text` is valid UTF-8 as nlohmann::json's dump() checks it.
bool valid_utf8(std::string_view text);

// A PlanError's message is stored with the verdict, as JSON: when the candidate's text was valid
// UTF-8, the message must be too. Dumps it as the store does, so that an invalid message escapes
// as json's type_error 316 (a finding).
void store_message(const std::string& message, std::string_view input);

// Splits one input into parts at a separator line, so that a target can take several texts
// (a reply line and a file, a source and a define) from one input: the i-th part, or "".
std::string_view part(std::string_view input, size_t index, std::string_view separator = "\n--\n");

// What `kforge profile explain` does with counters read from a file: each kernel's diagnosis
// against the H100's datasheet ceilings (float32 and float16) and against no ceilings at all,
// its text, its JSON as `--json` prints it, and the prompt's summary of them all.
void explain_counters(const std::vector<CounterSet>& sets);

}  // namespace kforge::fuzz
