// What every subcommand shares: the global options, the workspace (opened on first use), and
// how to print (human text or --json).
#pragma once

#include <CLI/CLI.hpp>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "harness/workspace.hpp"

namespace kforge::cli {

struct GlobalOptions {
  std::string workspace;  // --workspace
  std::string db;         // --db
  std::string python;     // --python
  bool quiet = false;     // --quiet: no progress lines
  // $KFORGE_GPU_WORKER (gpu_worker_command_from), read once when the command line is parsed:
  // the GPU worker program tests put in place of `kforge worker gpu`, for every command that
  // opens an EvaluationService.
  std::vector<std::string> gpu_worker_command;
};

// A worker command ("PROGRAM ARG ...") split at spaces; empty for no variable, an empty one or
// one of spaces alone.
std::vector<std::string> gpu_worker_command_from(const char* variable);

// `--profiler NAME` (eval, optimize, profile FILE): sets profile.profiler, where NAME is one of
// the choices (cupti, ncu, auto); anything else is an Error naming `--profiler`. Nothing for "".
void apply_profiler_flag(Config& config, const std::string& name);
// Adds `--profiler` to `command`, bound to `name`.
void add_profiler_flag(CLI::App& command, std::string& name);

// A flag that sets a configuration key for one command (`--model` -> llm.model).
struct KeyFlag {
  const char* flag;
  const char* key;
  const char* help;
};
// The key flags given: key -> value as text, for the command to set on its configuration, and
// the flags as named on the command line.
struct KeyFlagValues {
  std::map<std::string, std::string> keys;
  std::vector<std::string> given;
};
// Adds `flags` to `command`; `values` must outlive its parsing.
void add_key_flags(CLI::App& command, std::span<const KeyFlag> flags, KeyFlagValues& values);

class Context {
 public:
  GlobalOptions options;

  // Opens the workspace on first use, applying the global flags over kforge.toml.
  Workspace& workspace();

  // Progress for long work, on stderr so that stdout stays machine-readable; silent with --quiet.
  void progress(const std::string& line) const;

  // Prints one JSON document on stdout.
  static void print_json(const nlohmann::json& document);

 private:
  std::unique_ptr<Workspace> workspace_;
};

// printf to stdout for human output, through strings::printable: every human printer of the CLI
// writes through this, so text from outside (a task's description, a compile log, a model's
// answer, a file name) cannot send escape sequences to the terminal.
[[gnu::format(printf, 1, 2)]] void print(const char* format, ...);

// The exit codes every command uses.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;        // the tool could not do what was asked
inline constexpr int kExitUsage = 2;        // the command line was wrong
inline constexpr int kExitUnavailable = 3;  // something the work needs is missing (doctor)

}  // namespace kforge::cli
