// A candidate .cu file as an LLM or a user writes it, through everything the evaluator does with
// it before compiling and binding: parse (plan comment, located JSON, launch plan, expressions,
// kernel declarations), the stored JSON form of the plan and its round trip, the default define
// values, and binding at a fixed signature against PTX entries made from the declarations.
// Allowed failures: PlanError (returned in a PlanResult). Anything else is a finding.
#include <cstdint>
#include <nlohmann/json.hpp>

#include "harness/candidate/candidate_file.hpp"
#include "harness/candidate/plan_validation.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using namespace kforge;

TensorSpec tensor(const char* name, std::vector<int64_t> shape) {
  TensorSpec spec;
  spec.name = name;
  spec.shape = std::move(shape);
  return spec;
}

TensorSpec scalar(const char* name, DType dtype, double value) {
  TensorSpec spec;
  spec.name = name;
  spec.kind = ArgumentKind::kScalar;
  spec.dtype = dtype;
  spec.scalar = value;
  return spec;
}

const Signature& signature() {
  static const Signature fixed = [] {
    Signature s;
    s.inputs = {tensor("x", {1000, 37}), scalar("alpha", DType::kF64, 0.5),
                scalar("n", DType::kI64, 4096)};
    s.parameters = {tensor("linear.weight", {64, 37})};
    s.outputs = {tensor("out", {1000, 37})};
    return s;
  }();
  return fixed;
}

// What the compile would report: one .entry per extern "C" kernel, parameters sized as declared.
std::vector<PtxEntry> entries_for(const std::vector<KernelDeclaration>& kernels) {
  std::vector<PtxEntry> entries;
  for (const KernelDeclaration& kernel : kernels) {
    if (!kernel.extern_c)
      continue;
    PtxEntry entry{kernel.name, {}};
    for (size_t i = 0; i < kernel.parameters.size(); ++i) {
      const KernelParameter& parameter = kernel.parameters[i];
      size_t size = parameter.pointer      ? 8
                    : parameter.value_type ? scalar_type_size(*parameter.value_type)
                                           : 16;
      entry.parameters.push_back({kernel.name + "_param_" + std::to_string(i),
                                  parameter.pointer ? "u64" : "b8", size, size});
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  PlanResult<CandidateFile> parsed =
      parse_candidate(std::string(kforge::fuzz::as_text(data, size)), "kernel.cu");
  const std::string_view input = kforge::fuzz::as_text(data, size);
  if (!parsed.ok()) {
    kforge::fuzz::store_message(parsed.error().message(), input);
    return 0;
  }
  const CandidateFile& candidate = parsed.value();
  // The stored form (evaluations and candidates rows keep it as JSON text), read back.
  const nlohmann::json stored = candidate.plan.to_json();
  const std::string text = stored.dump();
  const LaunchPlan again = LaunchPlan::from_json(nlohmann::json::parse(text));
  if (again.to_json() != stored)
    __builtin_trap();  // a plan that does not survive the store
  std::map<std::string, int64_t> defines;
  try {
    defines = choose_define_values(candidate.plan);
  } catch (const PlanError& error) {
    kforge::fuzz::store_message(error.message(), input);
    return 0;
  }
  (void)define_options(defines);
  PlanResult<ResolvedPlan> bound = bind_plan(candidate.plan, candidate.kernels,
                                             entries_for(candidate.kernels), signature(), defines);
  if (!bound.ok())
    kforge::fuzz::store_message(bound.error().message(), input);
  if (bound.ok()) {
    // What a GPU worker reads.
    const nlohmann::json resolved = bound.value().to_json();
    if (ResolvedPlan::from_json(nlohmann::json::parse(resolved.dump()), "fuzz").to_json() !=
        resolved)
      __builtin_trap();
  }
  return 0;
}
