#include "harness/reference_failure.hpp"

#include <array>
#include <utility>

#include "harness/util/name_table.hpp"

namespace kforge {

namespace {

constexpr std::array kReferenceFailureKinds =
    std::to_array<std::pair<ReferenceFailureKind, std::string_view>>({
        {ReferenceFailureKind::kSyntaxError, "syntax_error"},
        {ReferenceFailureKind::kMissingDefinition, "missing_definition"},
        {ReferenceFailureKind::kMissingModule, "missing_module"},
        {ReferenceFailureKind::kRaised, "raised"},
        {ReferenceFailureKind::kWrongReturnType, "wrong_return_type"},
        {ReferenceFailureKind::kTimeLimit, "time_limit"},
        {ReferenceFailureKind::kTooLarge, "too_large"},
        {ReferenceFailureKind::kBadRequest, "bad_request"},
        {ReferenceFailureKind::kNoCuda, "no_cuda"},
        {ReferenceFailureKind::kNoTorch, "no_torch"},
        {ReferenceFailureKind::kDied, "died"},
        {ReferenceFailureKind::kMemoryLimit, "memory_limit"},
        {ReferenceFailureKind::kUnknown, "unknown"},
    });

}  // namespace

std::string_view reference_failure_kind_name(ReferenceFailureKind kind) {
  return name_in(kReferenceFailureKinds, kind);
}

std::optional<ReferenceFailureKind> reference_failure_kind_named(std::string_view name) {
  return value_named(kReferenceFailureKinds, name);
}

}  // namespace kforge
