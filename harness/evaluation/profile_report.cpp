#include "harness/evaluation/profile_report.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>

#include "harness/util/error.hpp"
#include "harness/util/formatted.hpp"
#include "harness/util/json_fields.hpp"
#include "profiler/datasheet_peaks.hpp"

namespace kforge {
namespace {

// The counters of the text's table: a heading, the metric, the scale and the format.
struct CounterColumn {
  const char* heading;
  const char* metric;
  double scale;
  bool whole;  // printed as a whole number, else to three significant digits
};
constexpr std::array<CounterColumn, 8> kCounterColumns = {{
    {"time us", "gpu__time_duration.sum", 1e-3, false},
    {"dram %", "dram__throughput.avg.pct_of_peak_sustained_elapsed", 1, true},
    {"sm %", "sm__throughput.avg.pct_of_peak_sustained_elapsed", 1, true},
    {"read MB", "dram__bytes_read.sum", 1e-6, false},
    {"write MB", "dram__bytes_write.sum", 1e-6, false},
    {"L2 hit %", "lts__t_sector_hit_rate.pct", 1, true},
    {"occup %", "sm__warps_active.avg.pct_of_peak_sustained_active", 1, true},
    {"regs", "launch__registers_per_thread", 1, true},
}};

// The datasheet row of `arch` ("sm_90", "sm_90a"), or none.
const DatasheetPeaks* datasheet_row(std::string arch) {
  while (!arch.empty() && std::isalpha(static_cast<unsigned char>(arch.back())))
    arch.pop_back();  // sm_90a -> sm_90
  for (const DatasheetPeaks& row : datasheet_peaks()) {
    if (row.arch == arch)
      return &row;
  }
  return nullptr;
}

Ceilings ceilings_for(const EvaluationRecord& record, const std::string& arch, DType dtype) {
  Ceilings ceilings;
  const DatasheetPeaks* row = datasheet_row(arch);
  std::string bandwidth_source = "none";
  if (record.evidence.floor && record.evidence.floor->bandwidth_bytes_per_s > 0) {
    ceilings.bandwidth_bytes_per_s = record.evidence.floor->bandwidth_bytes_per_s;
    bandwidth_source = "measured on this GPU";
  } else if (row) {
    ceilings.bandwidth_bytes_per_s = row->bandwidth_bytes_per_s;
    bandwidth_source = "datasheet";
  }
  std::string compute_source = "unknown for " + arch;
  if (row) {
    ceilings.peak_flops_per_s = row->peak_flops_for(dtype);
    ceilings.sm_count = row->sm_count;
    compute_source = "datasheet";
  }
  ceilings.source = "bandwidth " + bandwidth_source + "; " + std::string(dtype_torch_name(dtype)) +
                    " compute roof " + compute_source;
  if (row)
    ceilings.source += " (" + std::string(row->gpu) + ": " + std::string(row->source) + ")";
  return ceilings;
}

}  // namespace

DType roofline_dtype(const Signature& signature) {
  for (const TensorSpec& output : signature.outputs) {
    if (output.kind == ArgumentKind::kTensor && dtype_is_floating(output.dtype))
      return output.dtype;
  }
  return DType::kF32;
}

ProfileReport profile_report(const EvaluationRecord& record, DType dtype) {
  if (!record.profile)
    throw Error("the evaluation has no profile",
                "evaluation " + std::to_string(record.evaluation_id));
  ProfileReport report;
  report.counters = *record.profile;
  report.arch = !record.environment.gpu_arch.empty() ? record.environment.gpu_arch : record.arch;
  if (!report.collected())
    return report;
  Ceilings ceilings = ceilings_for(record, report.arch, dtype);
  const bool one_launch = report.counters.kernels.size() == 1;
  for (const KernelCounters& launch : report.counters.kernels) {
    CounterSet counters{.kernel = launch.kernel, .id = std::to_string(launch.launch)};
    counters.metrics.insert(launch.metrics.begin(), launch.metrics.end());
    if (one_launch && record.evidence.floor) {
      counters.bytes = record.evidence.floor->bytes;
      if (record.evidence.floor->flops > 0)
        counters.flops = record.evidence.floor->flops;
    }
    report.diagnoses.push_back(diagnose(counters, ceilings));
  }
  report.ceilings = std::move(ceilings);
  return report;
}

std::optional<ProfileReport> profile_report_of(const EvaluationRecord& record, const Task& task) {
  if (!record.profile)
    return std::nullopt;
  return profile_report(record,
                        task.analysis ? roofline_dtype(task.analysis->benchmark) : DType::kF32);
}

nlohmann::json ProfileReport::to_json() const {
  nlohmann::json out = counters.to_json();
  out["version"] = kProfileReportVersion;
  out["arch"] = arch;
  out["ceilings"] = ceilings ? ceilings->to_json() : nlohmann::json(nullptr);
  out["diagnoses"] = nlohmann::json::array();
  for (const Diagnosis& diagnosis : diagnoses)
    out["diagnoses"].push_back(diagnosis.to_json());
  return out;
}

ProfileReport ProfileReport::from_json(const nlohmann::json& json, const std::string& where) {
  JsonFields fields(json, where);
  int version = fields.required<int>("version");
  if (version != kProfileReportVersion)
    throw Error("profile report version " + std::to_string(version) + " (this kforge reads " +
                    std::to_string(kProfileReportVersion) + ")",
                where);
  ProfileReport report;
  report.counters = ProfileReply::from_json(json, where);
  report.arch = fields.optional<std::string>("arch", "");
  if (fields.has("ceilings") && !fields.raw("ceilings").is_null())
    report.ceilings = Ceilings::from_json(fields.raw("ceilings"), where + ": ceilings");
  const nlohmann::json& diagnoses = fields.raw("diagnoses");
  if (!diagnoses.is_array())
    throw Error("field 'diagnoses' is not an array", where);
  for (size_t i = 0; i < diagnoses.size(); ++i)
    report.diagnoses.push_back(
        Diagnosis::from_json(diagnoses[i], where + ": diagnoses[" + std::to_string(i) + "]"));
  return report;
}

nlohmann::json LaunchTime::to_json() const {
  return {{"launch", launch},
          {"kernel", kernel},
          {"time_ns", time_ns ? nlohmann::json(*time_ns) : nlohmann::json()},
          {"share", share ? nlohmann::json(*share) : nlohmann::json()},
          {"bound", bound_name(bound)},
          {"top_finding", top_finding.empty() ? nlohmann::json() : nlohmann::json(top_finding)}};
}

std::vector<LaunchTime> time_by_launch(const ProfileReport& report) {
  std::vector<LaunchTime> launches;
  double total = 0;
  for (size_t i = 0; i < report.counters.kernels.size(); ++i) {
    const KernelCounters& counters = report.counters.kernels[i];
    LaunchTime& launch = launches.emplace_back();
    launch.launch = counters.launch;
    launch.kernel = counters.kernel;
    auto found = counters.metrics.find("gpu__time_duration.sum");
    if (found != counters.metrics.end() && std::isfinite(found->second)) {
      launch.time_ns = found->second;
      total += found->second;
    }
    if (i < report.diagnoses.size()) {
      launch.bound = report.diagnoses[i].roofline.bound;
      if (!report.diagnoses[i].findings.empty())
        launch.top_finding = finding_kind_name(report.diagnoses[i].findings.front().kind);
    }
  }
  for (LaunchTime& launch : launches) {
    if (launch.time_ns && total > 0)
      launch.share = *launch.time_ns / total;
  }
  return launches;
}

std::string render_profile_text(const ProfileReport& report) {
  const ProfileReply& counters = report.counters;
  if (!report.collected()) {
    std::string out = "profile: unavailable: " + std::string(counters.reason_name());
    if (!counters.detail.empty())
      out += " (" + counters.detail + ")";
    return out + "\n";
  }
  std::string out = formatted(
      "profile: %s on %s, %d passes, %.1f ms of profiling\n", counters.profiler.c_str(),
      counters.chip.empty() ? "?" : counters.chip.c_str(), counters.passes, counters.overhead_ms);
  if (report.ceilings)
    out += formatted("  ceilings (%s): %.4g GB/s, %.4g TFLOP/s; %s\n", report.arch.c_str(),
                     report.ceilings->bandwidth_bytes_per_s / 1e9,
                     report.ceilings->peak_flops_per_s / 1e12, report.ceilings->source.c_str());
  out += formatted("  %-6s %-24s", "launch", "kernel");
  for (const CounterColumn& column : kCounterColumns)
    out += formatted(" %9s", column.heading);
  out += "\n";
  for (const KernelCounters& launch : counters.kernels) {
    out += formatted("  %-6d %-24s", launch.launch, launch.kernel.c_str());
    for (const CounterColumn& column : kCounterColumns) {
      auto found = launch.metrics.find(column.metric);
      out +=
          found == launch.metrics.end() || !std::isfinite(found->second)
              ? formatted(" %9s", "-")
              : formatted(" %9s", (column.whole ? formatted("%.0f", found->second * column.scale)
                                                : formatted("%.3g", found->second * column.scale))
                                      .c_str());
    }
    out += "\n";
  }
  for (const Diagnosis& diagnosis : report.diagnoses) {
    std::string text = render_text(diagnosis);
    // Indented under the profile, one line at a time.
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos)
        end = text.size();
      out += "  " + text.substr(start, end - start) + "\n";
      start = end + 1;
    }
  }
  return out;
}

std::string profile_for_prompt(const ProfileReport& report, size_t max_findings) {
  if (!report.collected())
    return "";
  return render_for_prompt(report.diagnoses, max_findings);
}

}  // namespace kforge
