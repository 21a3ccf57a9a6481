#include "profiler/diagnosis.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "harness/util/error.hpp"
#include "harness/util/json_fields.hpp"
#include "profiler/diagnosis_text.hpp"

namespace kforge {

namespace diagnosis_text {

std::string si(double value, const char* unit) {
  static constexpr std::array<std::pair<double, const char*>, 8> kPrefixes = {{
      {1e15, "P"},
      {1e12, "T"},
      {1e9, "G"},
      {1e6, "M"},
      {1e3, "k"},
      {1, ""},
      {1e-3, "m"},
      {1e-6, "u"},
  }};
  double magnitude = std::fabs(value);
  for (const auto& [scale, prefix] : kPrefixes) {
    if (magnitude >= scale)
      return formatted("%.3g %s%s", value / scale, prefix, unit);
  }
  if (value == 0)
    return formatted("0 %s", unit);
  return formatted("%.3g n%s", value * 1e9, unit);
}

std::string percent(double fraction) {
  double pct = fraction * 100;
  return std::fabs(pct) < 10 ? formatted("%.1f%%", pct) : formatted("%.0f%%", pct);
}

}  // namespace diagnosis_text

namespace {

using diagnosis_text::formatted;
using diagnosis_text::percent;
using diagnosis_text::si;

constexpr std::array<std::string_view, 12> kFindingKindNames = {
    "memory_bound",
    "compute_bound",
    "uncoalesced_global_access",
    "excess_l2_dram_traffic",
    "occupancy_limited_by_registers",
    "occupancy_limited_by_shared_memory",
    "shared_bank_conflicts",
    "latency_bound_small_grid",
    "tail_effect",
    "low_pipe_utilisation",
    "warp_divergence",
    "dominant_stall",
};
static_assert(kFindingKindNames.size() == static_cast<size_t>(FindingKind::kDominantStall) + 1);

// FP32 and FP64 FLOPs the SASS counters saw (an FMA is two); tensor-core work is not counted.
std::optional<double> counted_flops(const CounterSet& counters) {
  static constexpr std::array<std::pair<std::string_view, double>, 6> kCounted = {{
      {"smsp__sass_thread_inst_executed_op_ffma_pred_on.sum", 2},
      {"smsp__sass_thread_inst_executed_op_fadd_pred_on.sum", 1},
      {"smsp__sass_thread_inst_executed_op_fmul_pred_on.sum", 1},
      {"smsp__sass_thread_inst_executed_op_dfma_pred_on.sum", 2},
      {"smsp__sass_thread_inst_executed_op_dadd_pred_on.sum", 1},
      {"smsp__sass_thread_inst_executed_op_dmul_pred_on.sum", 1},
  }};
  double total = 0;
  for (const auto& [name, weight] : kCounted)
    total += weight * counters.metric(name).value_or(0);
  if (total > 0)
    return total;
  return std::nullopt;
}

std::optional<double> measured_dram_bytes(const CounterSet& counters) {
  if (auto total = counters.metric("dram__bytes.sum"))
    return total;
  auto read = counters.metric("dram__bytes_read.sum");
  auto write = counters.metric("dram__bytes_write.sum");
  if (!read && !write)
    return std::nullopt;
  return read.value_or(0) + write.value_or(0);
}

// Whether one alternative of a rule's needs is present.
bool present(const CounterSet& counters, const Roofline& roofline, std::string_view need) {
  if (need == "task:bytes")
    return counters.bytes.has_value();
  if (need == "task:flops")
    return roofline.flops_basis != "unknown";
  if (!need.empty() && need.back() == '*') {
    std::string_view prefix = need.substr(0, need.size() - 1);
    auto it = counters.metrics.lower_bound(prefix);
    return it != counters.metrics.end() && it->first.compare(0, prefix.size(), prefix) == 0;
  }
  return counters.metric(need).has_value();
}

// The entries of a rule's needs none of whose alternatives is present.
std::vector<std::string> missing_needs(const DiagnosisRule& rule, const CounterSet& counters,
                                       const Roofline& roofline) {
  std::vector<std::string> missing;
  for (std::string_view entry : rule.needs) {
    bool any = false;
    size_t start = 0;
    while (start <= entry.size() && !any) {
      size_t bar = entry.find('|', start);
      std::string_view alternative =
          entry.substr(start, bar == std::string_view::npos ? entry.npos : bar - start);
      while (!alternative.empty() && alternative.front() == ' ')
        alternative.remove_prefix(1);
      while (!alternative.empty() && alternative.back() == ' ')
        alternative.remove_suffix(1);
      any = present(counters, roofline, alternative);
      if (bar == std::string_view::npos)
        break;
      start = bar + 1;
    }
    if (!any)
      missing.emplace_back(entry);
  }
  return missing;
}

nlohmann::json optional_json(const std::optional<double>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

// A figure optional_json wrote: a number, or null (or absent) for none.
std::optional<double> optional_figure(const JsonFields& fields, const char* key) {
  if (!fields.has(key) || fields.raw(key).is_null())
    return std::nullopt;
  return fields.required<double>(key);
}

FindingKind finding_kind_from(const JsonFields& fields, const char* key) {
  std::string name = fields.required<std::string>(key);
  std::optional<FindingKind> kind = finding_kind_named(name);
  if (!kind)
    throw Error("field '" + std::string(key) + "' names no finding kind: '" + name + "'",
                fields.where());
  return *kind;
}

// "memory-bound; 812 GB/s, 24% of the bandwidth roof; 0.1% of the compute roof; intensity
// 0.25 FLOP/B (ridge 295)": the roofline in one line.
std::string roofline_line(const Roofline& roofline) {
  std::string line = std::string(bound_name(roofline.bound)) + "-bound";
  if (roofline.bound == Bound::kUnknown)
    line = "bound unknown (FLOPs or bytes not known)";
  if (roofline.time_ns)
    line += "; runs " + si(*roofline.time_ns * 1e-9, "s");
  if (roofline.bandwidth_fraction && roofline.time_ns && *roofline.time_ns > 0)
    line += "; " + si(roofline.bytes / (*roofline.time_ns * 1e-9), "B/s") + ", " +
            percent(*roofline.bandwidth_fraction) + " of the bandwidth roof";
  if (roofline.compute_fraction)
    line += "; " + percent(*roofline.compute_fraction) + " of the compute roof";
  if (roofline.arithmetic_intensity) {
    line += formatted("; intensity %.3g FLOP/B", *roofline.arithmetic_intensity);
    if (roofline.ridge_point)
      line += formatted(" (ridge %.3g)", *roofline.ridge_point);
  }
  return line;
}

}  // namespace

std::optional<double> CounterSet::metric(std::string_view name) const {
  auto found = metrics.find(name);
  if (found == metrics.end() || !std::isfinite(found->second))
    return std::nullopt;
  return found->second;
}

std::string_view bound_name(Bound bound) {
  switch (bound) {
    case Bound::kMemory:
      return "memory";
    case Bound::kCompute:
      return "compute";
    case Bound::kUnknown:
      break;
  }
  return "unknown";
}

std::string_view finding_kind_name(FindingKind kind) {
  return kFindingKindNames[static_cast<size_t>(kind)];
}

std::optional<FindingKind> finding_kind_named(std::string_view name) {
  for (size_t i = 0; i < kFindingKindNames.size(); ++i) {
    if (kFindingKindNames[i] == name)
      return static_cast<FindingKind>(i);
  }
  return std::nullopt;
}

std::optional<Bound> bound_named(std::string_view name) {
  for (Bound bound : {Bound::kMemory, Bound::kCompute, Bound::kUnknown}) {
    if (bound_name(bound) == name)
      return bound;
  }
  return std::nullopt;
}

nlohmann::json Ceilings::to_json() const {
  return {{"bandwidth_bytes_per_s", bandwidth_bytes_per_s},
          {"peak_flops_per_s", peak_flops_per_s},
          {"sm_count", sm_count},
          {"source", source}};
}

Ceilings Ceilings::from_json(const nlohmann::json& json, const std::string& where) {
  JsonFields fields(json, where);
  return {.bandwidth_bytes_per_s = fields.required<double>("bandwidth_bytes_per_s"),
          .peak_flops_per_s = fields.required<double>("peak_flops_per_s"),
          .sm_count = fields.optional<int>("sm_count", 0),
          .source = fields.optional<std::string>("source", "")};
}

std::optional<double> Roofline::gap() const {
  if (!floor_ns || !time_ns || *time_ns <= 0)
    return std::nullopt;
  return std::clamp(1 - *floor_ns / *time_ns, 0.0, 1.0);
}

nlohmann::json Roofline::to_json() const {
  return {{"bound", bound_name(bound)},
          {"flops", flops},
          {"flops_basis", flops_basis},
          {"bytes", bytes},
          {"bytes_basis", bytes_basis},
          {"time_ns", optional_json(time_ns)},
          {"arithmetic_intensity", optional_json(arithmetic_intensity)},
          {"ridge_point", optional_json(ridge_point)},
          {"bandwidth_fraction", optional_json(bandwidth_fraction)},
          {"compute_fraction", optional_json(compute_fraction)},
          {"floor_ns", optional_json(floor_ns)},
          {"gap", optional_json(gap())}};
}

nlohmann::json Finding::to_json() const {
  nlohmann::json named = nlohmann::json::object();
  for (const auto& [name, value] : numbers)
    named[name] = value;
  return {{"kind", finding_kind_name(kind)},
          {"gain", gain},
          {"numbers", named},
          {"evidence", evidence},
          {"advice", advice}};
}

nlohmann::json Diagnosis::to_json() const {
  nlohmann::json out = {{"kernel", kernel}, {"roofline", roofline.to_json()}};
  if (!id.empty())
    out["id"] = id;
  out["findings"] = nlohmann::json::array();
  for (const Finding& finding : findings)
    out["findings"].push_back(finding.to_json());
  out["skipped"] = nlohmann::json::array();
  for (const SkippedRule& rule : skipped)
    out["skipped"].push_back({{"rule", finding_kind_name(rule.kind)}, {"missing", rule.missing}});
  return out;
}

Roofline Roofline::from_json(const nlohmann::json& json, const std::string& where) {
  JsonFields fields(json, where);
  Roofline roofline;
  std::string bound = fields.required<std::string>("bound");
  if (std::optional<Bound> named = bound_named(bound))
    roofline.bound = *named;
  else
    throw Error("field 'bound' must be memory, compute or unknown, not '" + bound + "'", where);
  roofline.flops = fields.required<double>("flops");
  roofline.flops_basis = fields.required<std::string>("flops_basis");
  roofline.bytes = fields.required<double>("bytes");
  roofline.bytes_basis = fields.required<std::string>("bytes_basis");
  roofline.time_ns = optional_figure(fields, "time_ns");
  roofline.arithmetic_intensity = optional_figure(fields, "arithmetic_intensity");
  roofline.ridge_point = optional_figure(fields, "ridge_point");
  roofline.bandwidth_fraction = optional_figure(fields, "bandwidth_fraction");
  roofline.compute_fraction = optional_figure(fields, "compute_fraction");
  roofline.floor_ns = optional_figure(fields, "floor_ns");
  return roofline;
}

Finding Finding::from_json(const nlohmann::json& json, const std::string& where) {
  JsonFields fields(json, where);
  Finding finding;
  finding.kind = finding_kind_from(fields, "kind");
  finding.gain = fields.required<double>("gain");
  finding.evidence = fields.required<std::string>("evidence");
  finding.advice = fields.required<std::string>("advice");
  const nlohmann::json& numbers = fields.raw("numbers");
  if (!numbers.is_object())
    throw Error("field 'numbers' is not an object", where);
  for (const auto& [name, value] : numbers.items()) {
    if (!value.is_number())
      throw Error("numbers." + name + " is not a number", where);
    finding.numbers.emplace_back(name, value.get<double>());
  }
  return finding;
}

Diagnosis Diagnosis::from_json(const nlohmann::json& json, const std::string& where) {
  JsonFields fields(json, where);
  Diagnosis diagnosis;
  diagnosis.kernel = fields.required<std::string>("kernel");
  diagnosis.id = fields.optional<std::string>("id", "");
  diagnosis.roofline = Roofline::from_json(fields.raw("roofline"), where + ": roofline");
  const nlohmann::json& findings = fields.raw("findings");
  if (!findings.is_array())
    throw Error("field 'findings' is not an array", where);
  for (size_t i = 0; i < findings.size(); ++i)
    diagnosis.findings.push_back(
        Finding::from_json(findings[i], where + ": findings[" + std::to_string(i) + "]"));
  const nlohmann::json& skipped =
      fields.optional<nlohmann::json>("skipped", nlohmann::json::array());
  if (!skipped.is_array())
    throw Error("field 'skipped' is not an array", where);
  for (size_t i = 0; i < skipped.size(); ++i) {
    JsonFields rule(skipped[i], where + ": skipped[" + std::to_string(i) + "]");
    diagnosis.skipped.push_back(
        {finding_kind_from(rule, "rule"), rule.required<std::vector<std::string>>("missing")});
  }
  return diagnosis;
}

Roofline roofline_of(const CounterSet& counters, const Ceilings& ceilings) {
  Roofline roofline;
  roofline.flops_basis = "unknown";
  roofline.bytes_basis = "unknown";
  if (counters.flops) {
    roofline.flops = *counters.flops;
    roofline.flops_basis = "task";
  } else if (auto counted = counted_flops(counters)) {
    roofline.flops = *counted;
    roofline.flops_basis = "counted FP32/FP64 instructions";
  }
  if (counters.bytes) {
    roofline.bytes = *counters.bytes;
    roofline.bytes_basis = "task";
  } else if (auto measured = measured_dram_bytes(counters)) {
    roofline.bytes = *measured;
    roofline.bytes_basis = "measured DRAM traffic";
  }
  bool flops_known = roofline.flops_basis != "unknown";
  bool bytes_known = roofline.bytes_basis != "unknown";
  double bandwidth = ceilings.bandwidth_bytes_per_s;
  double peak = ceilings.peak_flops_per_s;
  if (bandwidth > 0 && peak > 0)
    roofline.ridge_point = peak / bandwidth;
  if (flops_known && bytes_known && roofline.bytes > 0)
    roofline.arithmetic_intensity = roofline.flops / roofline.bytes;

  if (roofline.arithmetic_intensity && roofline.ridge_point)
    roofline.bound =
        *roofline.arithmetic_intensity < *roofline.ridge_point ? Bound::kMemory : Bound::kCompute;
  else if (flops_known && bytes_known && roofline.bytes == 0 && roofline.flops > 0)
    roofline.bound = Bound::kCompute;

  double memory_floor_ns = bytes_known && bandwidth > 0 ? roofline.bytes / bandwidth * 1e9 : 0;
  double compute_floor_ns = flops_known && peak > 0 ? roofline.flops / peak * 1e9 : 0;
  if (memory_floor_ns > 0 || compute_floor_ns > 0)
    roofline.floor_ns = std::max(memory_floor_ns, compute_floor_ns);

  roofline.time_ns = counters.metric("gpu__time_duration.sum");
  if (roofline.time_ns && *roofline.time_ns > 0) {
    double seconds = *roofline.time_ns * 1e-9;
    if (bytes_known && bandwidth > 0)
      roofline.bandwidth_fraction = roofline.bytes / seconds / bandwidth;
    if (flops_known && peak > 0)
      roofline.compute_fraction = roofline.flops / seconds / peak;
  }
  return roofline;
}

Diagnosis diagnose(const CounterSet& counters, const Ceilings& ceilings) {
  Diagnosis diagnosis;
  diagnosis.kernel = counters.kernel;
  diagnosis.id = counters.id;
  diagnosis.roofline = roofline_of(counters, ceilings);
  RuleInput input{counters, diagnosis.roofline, ceilings};
  for (const DiagnosisRule& rule : diagnosis_rules()) {
    std::vector<std::string> missing = missing_needs(rule, counters, diagnosis.roofline);
    if (!missing.empty()) {
      diagnosis.skipped.push_back({rule.kind, std::move(missing)});
      continue;
    }
    if (std::optional<Finding> finding = rule.apply(input))
      diagnosis.findings.push_back(std::move(*finding));
  }
  // Most time to gain first; the table's order among equals.
  std::stable_sort(diagnosis.findings.begin(), diagnosis.findings.end(),
                   [](const Finding& a, const Finding& b) { return a.gain > b.gain; });
  return diagnosis;
}

std::string render_text(const Diagnosis& diagnosis) {
  std::string out = diagnosis.kernel;
  if (!diagnosis.id.empty())
    out += " [ID " + diagnosis.id + "]";
  out += "\n  roofline: " + roofline_line(diagnosis.roofline) + "\n";
  if (diagnosis.findings.empty())
    out += "  no findings\n";
  int number = 1;
  for (const Finding& finding : diagnosis.findings) {
    out +=
        formatted("  %d. %s (about %s of the time): %s\n     try: %s\n", number++,
                  std::string(finding_kind_name(finding.kind)).c_str(),
                  percent(finding.gain).c_str(), finding.evidence.c_str(), finding.advice.c_str());
  }
  if (!diagnosis.skipped.empty()) {
    std::string names;
    for (const SkippedRule& rule : diagnosis.skipped)
      names += (names.empty() ? "" : ", ") + std::string(finding_kind_name(rule.kind));
    out += "  skipped for missing metrics: " + names + "\n";
  }
  return out;
}

std::string render_for_prompt(std::span<const Diagnosis> diagnoses, size_t max_findings) {
  if (diagnoses.empty())
    return "";
  std::string out;
  std::vector<std::pair<const Finding*, const std::string*>> all;
  for (const Diagnosis& diagnosis : diagnoses) {
    out += "- " + diagnosis.kernel + ": " + roofline_line(diagnosis.roofline) + ".\n";
    for (const Finding& finding : diagnosis.findings)
      all.emplace_back(&finding, &diagnosis.kernel);
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const auto& a, const auto& b) { return a.first->gain > b.first->gain; });
  if (all.size() > max_findings)
    all.resize(max_findings);
  if (all.empty())
    return out + "No findings from the counters.\n";
  out += "Top findings, most time to gain first:\n";
  int number = 1;
  for (const auto& [finding, kernel] : all) {
    out += formatted("%d. %s", number++, std::string(finding_kind_name(finding->kind)).c_str());
    if (diagnoses.size() > 1)
      out += " in " + *kernel;
    out += ": " + finding->evidence + " Try: " + finding->advice + "\n";
  }
  return out;
}

}  // namespace kforge
