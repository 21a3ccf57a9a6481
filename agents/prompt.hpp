// Prompts: templates in agents/prompts/*.md, compiled into the binary, which a user may
// override file by file with a folder of their own (same file names). A template names its
// values as {{name}}; a name the builder does not supply is an error naming the template file.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "agents/agent.hpp"
#include "agents/provider.hpp"

namespace kforge::agents {

class PromptLibrary {
 public:
  // The built-in templates, each replaced by `<override_dir>/<name>.md` where that exists.
  // Throws Error if the folder is given but missing, or holds a .md that is not a template
  // name (a typo would otherwise be silently ignored).
  static PromptLibrary load(const std::optional<std::filesystem::path>& override_dir = {});

  // The template names: system, contract, task, history, history_entry, feedback, start, hint;
  // tune_system and tune_start for the LLM's start of a tuning run (agents/tuning_start.hpp).
  static std::span<const std::string_view> names();

  // Fills {{name}} placeholders from `values`; throws Error naming the template's file and the
  // placeholder when a placeholder has no value.
  std::string render(std::string_view name, const std::map<std::string, std::string>& values) const;

  // Where a template came from: "built-in" or the override file's path.
  std::string origin(std::string_view name) const;

 private:
  std::map<std::string, std::string, std::less<>> texts_;
  std::map<std::string, std::string, std::less<>> origins_;
};

// An earlier attempt a strategy chooses to show in a first prompt.
struct HistoryEntry {
  std::string id;
  std::string source;
  Feedback feedback;
};

// Where every conversation starts when the engineer hands in a candidate, an instruction or
// both (`kforge optimize TASK --from FILE.cu --hint TEXT`).
struct StartingPoint {
  std::string file_name;             // the candidate's file, as the engineer named it
  std::string source;                // the candidate; empty: only the instruction
  std::optional<Feedback> feedback;  // what became of the candidate, evaluated first
  std::string hint;                  // the engineer's instruction; empty: none
};

class PromptBuilder {
 public:
  PromptBuilder(PromptLibrary library, TaskView task, GpuTarget gpu);

  // The system prompt and a first user turn: the task, the GPU and the chosen history. With a
  // starting point that has a candidate, two turns follow as in a refine step: the candidate
  // (template `start`) as the answer before, then its feedback and the instruction (`hint`);
  // with only an instruction, it ends the first turn.
  Conversation first(std::span<const HistoryEntry> history = {}) const;
  // The same builder, every conversation starting from `start`.
  PromptBuilder with_start(StartingPoint start) const;
  // The user turn that tells the LLM what became of its last candidate.
  std::string feedback(const Feedback& feedback) const;

  const TaskView& task() const { return task_; }
  const GpuTarget& gpu() const { return gpu_; }

 private:
  PromptLibrary library_;
  TaskView task_;
  GpuTarget gpu_;
  std::optional<StartingPoint> start_;
};

// The GPU as the prompts describe it: name, architecture, SMs, bandwidth, shared memory.
std::string gpu_description(const GpuTarget& gpu);

// Evidence made short enough for a prompt: long strings (compile logs) keep their tail, long
// arrays their first elements, and the whole is capped at `max_bytes`.
std::string summarize_evidence(const nlohmann::json& evidence, size_t max_bytes = 3000);

}  // namespace kforge::agents
