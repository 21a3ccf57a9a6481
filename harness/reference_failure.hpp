// The kinds of failure a PyTorch reference can have, as the reference runner names them: in the
// model layer, so that the evaluation record (and the fuzz targets that read it) can name them
// without the runner itself.
#pragma once

#include <optional>
#include <string_view>

namespace kforge {

// Why the runner could not handle a task, as the script's replies name it (TaskError's kind in
// harness/reference/kforge_reference.py), or as the bridge saw it end: kDied (the runner stopped
// without answering) and kMemoryLimit (it passed reference.memory_mb). kUnknown is a failure
// reply that named no kind. The names are the text replies, reports and stored evidence hold.
enum class ReferenceFailureKind {
  kSyntaxError,        // syntax_error
  kMissingDefinition,  // missing_definition: no Model, get_inputs or get_init_inputs
  kMissingModule,      // missing_module: an import the Python lacks
  kRaised,             // raised: the task's own code raised
  kWrongReturnType,    // wrong_return_type
  kTimeLimit,          // time_limit: reference.timeout_s
  kTooLarge,           // too_large: not run on the CPU at the benchmark shape
  kBadRequest,         // bad_request: kforge asked what the task cannot do
  kNoCuda,             // no_cuda: a GPU was asked for and torch sees none
  kNoTorch,            // no_torch
  kDied,               // died
  kMemoryLimit,        // memory_limit
  kUnknown,            // unknown
};
std::string_view reference_failure_kind_name(ReferenceFailureKind kind);
// The kind `name` names; nullopt for any other text.
std::optional<ReferenceFailureKind> reference_failure_kind_named(std::string_view name);

}  // namespace kforge
