// The roofline and every rule of the diagnosis table on counter sets in tests/unit/data/diagnosis/
// (Nsight Compute metric names and base units, one kernel each; see the README there): each rule
// fires on at least one set and stays quiet on at least one, the findings come out ordered by
// gain, a missing metric skips a rule, and the prompt rendering keeps the numbers.
#include "profiler/diagnosis.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "profiler/counter_file.hpp"
#include "profiler/datasheet_peaks.hpp"

namespace kforge {
namespace {

namespace fs = std::filesystem;

const fs::path kData = fs::path(KFORGE_SOURCE_DIR) / "tests/unit/data/diagnosis";

CounterSet load(const std::string& name) {
  std::vector<CounterSet> sets = read_counter_file(kData / (name + ".json"));
  EXPECT_EQ(sets.size(), 1u);
  return sets.at(0);
}

// H100 SXM's datasheet ceilings for the dtype.
Ceilings h100(DType dtype = DType::kF32) {
  const DatasheetPeaks& peaks = find_datasheet_peaks("sm_90");
  return {peaks.bandwidth_bytes_per_s, peaks.peak_flops_for(dtype), peaks.sm_count, "test"};
}

std::vector<std::string> kinds(const Diagnosis& diagnosis) {
  std::vector<std::string> out;
  for (const Finding& finding : diagnosis.findings)
    out.emplace_back(finding_kind_name(finding.kind));
  return out;
}

const Finding* find(const Diagnosis& diagnosis, FindingKind kind) {
  for (const Finding& finding : diagnosis.findings) {
    if (finding.kind == kind)
      return &finding;
  }
  return nullptr;
}

double number(const Finding& finding, const std::string& name) {
  for (const auto& [key, value] : finding.numbers) {
    if (key == name)
      return value;
  }
  ADD_FAILURE() << "no number " << name << " in " << finding.evidence;
  return -1;
}

// Each counter set, the dtype of its task, and exactly the findings it must get, in order. Every
// rule appears in some row (it fires) and is absent from others (it stays quiet): the
// coverage test below holds the table to that.
struct Expected {
  std::string set;
  DType dtype;
  std::vector<std::string> findings;
};

const std::vector<Expected>& expectations() {
  static const std::vector<Expected> table = {
      {"vector_add_coalesced", DType::kF32, {"memory_bound"}},
      {"transpose_strided",
       DType::kF32,
       {"uncoalesced_global_access", "dominant_stall", "excess_l2_dram_traffic"}},
      {"sgemm_register_heavy",
       DType::kF32,
       {"low_pipe_utilisation", "occupancy_limited_by_registers"}},
      {"hgemm_shared_tiles",
       DType::kF16,
       {"low_pipe_utilisation", "occupancy_limited_by_shared_memory", "shared_bank_conflicts"}},
      {"hgemm_tensor_near_roof", DType::kF16, {"compute_bound"}},
      {"row_sum_small_grid", DType::kF32, {"latency_bound_small_grid", "dominant_stall"}},
      {"softmax_tail_divergent", DType::kF32, {"warp_divergence", "tail_effect", "dominant_stall"}},
  };
  return table;
}

TEST(Diagnosis, EachRecordedSetGetsExactlyItsFindingsMostGainFirst) {
  for (const Expected& expected : expectations()) {
    SCOPED_TRACE(expected.set);
    Diagnosis diagnosis = diagnose(load(expected.set), h100(expected.dtype));
    EXPECT_EQ(kinds(diagnosis), expected.findings) << render_text(diagnosis);
    for (size_t i = 1; i < diagnosis.findings.size(); ++i)
      EXPECT_GE(diagnosis.findings[i - 1].gain, diagnosis.findings[i].gain);
    for (const Finding& finding : diagnosis.findings) {
      EXPECT_FALSE(finding.numbers.empty());
      EXPECT_FALSE(finding.evidence.empty());
      EXPECT_FALSE(finding.advice.empty());
      EXPECT_GE(finding.gain, 0);
      EXPECT_LE(finding.gain, diagnosis.roofline.gap().value_or(1) + 1e-12);
    }
  }
}

TEST(Diagnosis, EveryRuleFiresOnSomeSetAndStaysQuietOnAnother) {
  for (const DiagnosisRule& rule : diagnosis_rules()) {
    std::string name(finding_kind_name(rule.kind));
    int fired = 0;
    int quiet = 0;
    for (const Expected& expected : expectations()) {
      bool fires = std::find(expected.findings.begin(), expected.findings.end(), name) !=
                   expected.findings.end();
      (fires ? fired : quiet)++;
    }
    EXPECT_GT(fired, 0) << name << " fires on no recorded set";
    EXPECT_GT(quiet, 0) << name << " is quiet on no recorded set";
  }
}

TEST(Diagnosis, RooflineOfANearRoofCopy) {
  // 64M float32 additions: 3 x 256 MiB must move, one FLOP per element; 267.9 us on an H100.
  Roofline roofline = roofline_of(load("vector_add_coalesced"), h100());
  EXPECT_EQ(roofline.bound, Bound::kMemory);
  EXPECT_EQ(roofline.bytes_basis, "task");
  EXPECT_NEAR(*roofline.arithmetic_intensity, 1.0 / 12, 1e-9);
  EXPECT_NEAR(*roofline.ridge_point, 67e12 / 3.35e12, 1e-9);
  double bandwidth = 805306368 / 267904e-9;
  EXPECT_NEAR(*roofline.bandwidth_fraction, bandwidth / 3.35e12, 1e-9);
  EXPECT_NEAR(*roofline.compute_fraction, 67108864 / 267904e-9 / 67e12, 1e-12);
  EXPECT_NEAR(*roofline.floor_ns, 805306368 / 3.35e12 * 1e9, 1e-6);
  EXPECT_NEAR(*roofline.gap(), 1 - 805306368 / 3.35e12 * 1e9 / 267904, 1e-9);
}

TEST(Diagnosis, RooflineBindsOnComputeAboveTheRidge) {
  Roofline roofline = roofline_of(load("sgemm_register_heavy"), h100());
  EXPECT_EQ(roofline.bound, Bound::kCompute);
  EXPECT_NEAR(*roofline.compute_fraction, 2.0 * 4096 * 4096 * 4096 / 4.1e-3 / 67e12, 1e-9);
}

TEST(Diagnosis, WithoutTaskFiguresTheRooflineUsesMeasuredTrafficAndCountedFlops) {
  CounterSet counters;
  counters.kernel = "k";
  counters.metrics = {{"gpu__time_duration.sum", 1e6},
                      {"dram__bytes_read.sum", 3e9},
                      {"dram__bytes_write.sum", 1e9},
                      {"smsp__sass_thread_inst_executed_op_ffma_pred_on.sum", 5e9},
                      {"smsp__sass_thread_inst_executed_op_fadd_pred_on.sum", 1e9}};
  Roofline roofline = roofline_of(counters, h100());
  EXPECT_EQ(roofline.bytes_basis, "measured DRAM traffic");
  EXPECT_DOUBLE_EQ(roofline.bytes, 4e9);
  EXPECT_EQ(roofline.flops_basis, "counted FP32/FP64 instructions");
  EXPECT_DOUBLE_EQ(roofline.flops, 11e9);
  EXPECT_EQ(roofline.bound, Bound::kMemory);  // 2.75 FLOP/B, below the ridge of 20
  EXPECT_NEAR(*roofline.bandwidth_fraction, 4e12 / 3.35e12, 1e-9);
}

TEST(Diagnosis, WithNeitherFlopsNorBytesTheBoundIsUnknown) {
  CounterSet counters;
  counters.kernel = "k";
  counters.metrics = {{"gpu__time_duration.sum", 1e6}};
  Roofline roofline = roofline_of(counters, h100());
  EXPECT_EQ(roofline.bound, Bound::kUnknown);
  EXPECT_FALSE(roofline.bandwidth_fraction);
  EXPECT_FALSE(roofline.gap());
}

TEST(Diagnosis, MissingMetricsSkipRulesAndNeverFail) {
  CounterSet counters;
  counters.kernel = "bare";
  counters.flops = 1e9;
  counters.bytes = 1e9;
  Diagnosis diagnosis = diagnose(counters, h100());
  EXPECT_TRUE(diagnosis.findings.empty());
  EXPECT_EQ(diagnosis.skipped.size(), diagnosis_rules().size());
  for (const SkippedRule& skipped : diagnosis.skipped)
    EXPECT_FALSE(skipped.missing.empty());
  EXPECT_EQ(diagnosis.roofline.bound, Bound::kMemory);
  EXPECT_FALSE(diagnosis.roofline.time_ns);
  // Every single metric of a full set removed in turn: never a failure, only fewer findings.
  for (const Expected& expected : expectations()) {
    CounterSet full = load(expected.set);
    for (const auto& [name, value] : load(expected.set).metrics) {
      CounterSet less = full;
      less.metrics.erase(name);
      EXPECT_NO_THROW(diagnose(less, h100(expected.dtype))) << name;
    }
  }
}

TEST(Diagnosis, SkippedRulesNameWhatTheyLacked) {
  CounterSet counters = load("transpose_strided");
  Diagnosis diagnosis = diagnose(counters, h100());
  auto skipped = std::find_if(
      diagnosis.skipped.begin(), diagnosis.skipped.end(),
      [](const SkippedRule& rule) { return rule.kind == FindingKind::kSharedBankConflicts; });
  ASSERT_NE(skipped, diagnosis.skipped.end());
  EXPECT_EQ(skipped->missing.at(0), "l1tex__data_bank_conflicts_pipe_lsu_mem_shared.sum");
}

TEST(Diagnosis, RuleThresholdsAtTheirEdges) {
  // Sectors per request: 16 (128-bit coalesced) is quiet, 16.5 fires.
  CounterSet counters;
  counters.kernel = "k";
  counters.metrics = {{"l1tex__t_sectors_pipe_lsu_mem_global_op_ld.sum", 16 * 1000},
                      {"l1tex__t_requests_pipe_lsu_mem_global_op_ld.sum", 1000}};
  EXPECT_FALSE(find(diagnose(counters, h100()), FindingKind::kUncoalescedGlobalAccess));
  counters.metrics["l1tex__t_sectors_pipe_lsu_mem_global_op_ld.sum"] = 16500;
  const Diagnosis fired = diagnose(counters, h100());
  const Finding* finding = find(fired, FindingKind::kUncoalescedGlobalAccess);
  ASSERT_TRUE(finding);
  EXPECT_DOUBLE_EQ(number(*finding, "load_sectors_per_request"), 16.5);

  // Tail: 1.25 waves idle 37.5% of the slots (fires); 1.9 waves idle 5% (quiet).
  CounterSet waves;
  waves.kernel = "k";
  waves.metrics = {{"launch__waves_per_multiprocessor", 1.25}};
  const Diagnosis tail = diagnose(waves, h100());
  ASSERT_TRUE(find(tail, FindingKind::kTailEffect));
  EXPECT_DOUBLE_EQ(number(*find(tail, FindingKind::kTailEffect), "idle_share"), 0.375);
  waves.metrics["launch__waves_per_multiprocessor"] = 1.9;
  EXPECT_FALSE(find(diagnose(waves, h100()), FindingKind::kTailEffect));

  // Bank conflicts: 19% quiet, 20% fires.
  CounterSet shared;
  shared.kernel = "k";
  shared.metrics = {{"l1tex__data_bank_conflicts_pipe_lsu_mem_shared.sum", 19},
                    {"l1tex__data_pipe_lsu_wavefronts_mem_shared.sum", 100}};
  EXPECT_FALSE(find(diagnose(shared, h100()), FindingKind::kSharedBankConflicts));
  shared.metrics["l1tex__data_bank_conflicts_pipe_lsu_mem_shared.sum"] = 20;
  EXPECT_TRUE(find(diagnose(shared, h100()), FindingKind::kSharedBankConflicts));

  // The small grid: fewer blocks than the ceilings' SM count fires, unless a unit is busy.
  CounterSet grid;
  grid.kernel = "k";
  grid.metrics = {{"launch__grid_size", 100}};
  EXPECT_TRUE(find(diagnose(grid, h100()), FindingKind::kLatencyBoundSmallGrid));
  grid.metrics["dram__throughput.avg.pct_of_peak_sustained_elapsed"] = 75;
  EXPECT_FALSE(find(diagnose(grid, h100()), FindingKind::kLatencyBoundSmallGrid));
}

TEST(Diagnosis, FindingsCarryTheirNumbers) {
  Diagnosis transpose = diagnose(load("transpose_strided"), h100());
  const Finding* uncoalesced = find(transpose, FindingKind::kUncoalescedGlobalAccess);
  ASSERT_TRUE(uncoalesced);
  EXPECT_DOUBLE_EQ(number(*uncoalesced, "store_sectors_per_request"), 32);
  EXPECT_NE(uncoalesced->evidence.find("32.0 sectors"), std::string::npos);
  const Finding* traffic = find(transpose, FindingKind::kExcessL2DramTraffic);
  ASSERT_TRUE(traffic);
  EXPECT_NEAR(number(*traffic, "traffic_ratio"), 956825600.0 / 536870912, 1e-9);
  const Finding* stall = find(transpose, FindingKind::kDominantStall);
  ASSERT_TRUE(stall);
  EXPECT_NEAR(number(*stall, "stall_share"), 38.5 / 48.0, 1e-9);
  EXPECT_NE(stall->evidence.find("lg_throttle"), std::string::npos);

  Diagnosis sgemm = diagnose(load("sgemm_register_heavy"), h100());
  const Finding* registers = find(sgemm, FindingKind::kOccupancyLimitedByRegisters);
  ASSERT_TRUE(registers);
  EXPECT_DOUBLE_EQ(number(*registers, "registers_per_thread"), 168);
  EXPECT_DOUBLE_EQ(number(*registers, "theoretical_occupancy_pct"), 12.5);
}

TEST(Diagnosis, JsonCarriesRooflineFindingsAndSkippedRules) {
  nlohmann::json json = diagnose(load("row_sum_small_grid"), h100()).to_json();
  EXPECT_EQ(json["kernel"], "row_sum");
  EXPECT_EQ(json["roofline"]["bound"], "memory");
  EXPECT_EQ(json["findings"][0]["kind"], "latency_bound_small_grid");
  EXPECT_EQ(json["findings"][0]["numbers"]["grid_blocks"], 16);
  EXPECT_TRUE(json["skipped"].is_array());
}

TEST(Diagnosis, JsonReadsBackToTheSameDiagnosis) {
  for (const char* name : {"row_sum_small_grid", "sgemm_register_heavy", "transpose_strided",
                           "softmax_tail_divergent", "hgemm_tensor_near_roof"}) {
    Diagnosis diagnosis = diagnose(load(name), h100());
    nlohmann::json json = diagnosis.to_json();
    Diagnosis back = Diagnosis::from_json(json, name);
    EXPECT_EQ(back.to_json(), json) << name;
    EXPECT_EQ(render_text(back), render_text(diagnosis)) << name;
  }
  Ceilings ceilings = h100();
  EXPECT_EQ(Ceilings::from_json(ceilings.to_json(), "ceilings").to_json(), ceilings.to_json());

  nlohmann::json json = diagnose(load("row_sum_small_grid"), h100()).to_json();
  nlohmann::json unknown_kind = json;
  unknown_kind["findings"][0]["kind"] = "too_slow";
  EXPECT_THROW(
      {
        try {
          Diagnosis::from_json(unknown_kind, "report.json");
        } catch (const Error& error) {
          EXPECT_NE(std::string(error.what()).find("names no finding kind: 'too_slow'"),
                    std::string::npos)
              << error.what();
          EXPECT_NE(std::string(error.what()).find("report.json: findings[0]"), std::string::npos)
              << error.what();
          throw;
        }
      },
      Error);
  nlohmann::json bad_bound = json;
  bad_bound["roofline"]["bound"] = "latency";
  EXPECT_THROW(Diagnosis::from_json(bad_bound, "report.json"), Error);
  nlohmann::json no_roofline = json;
  no_roofline.erase("roofline");
  EXPECT_THROW(Diagnosis::from_json(no_roofline, "report.json"), Error);
}

TEST(Diagnosis, PromptRenderingKeepsNumbersAndTheTopThree) {
  std::vector<Diagnosis> diagnoses = {diagnose(load("softmax_tail_divergent"), h100()),
                                      diagnose(load("transpose_strided"), h100())};
  std::string text = render_for_prompt(diagnoses);
  // One roofline line per kernel, with its numbers.
  EXPECT_NE(text.find("- softmax_rows: memory-bound"), std::string::npos) << text;
  EXPECT_NE(text.find("- transpose_naive: memory-bound"), std::string::npos) << text;
  EXPECT_NE(text.find("of the bandwidth roof"), std::string::npos);
  // Six findings in all; the three with most to gain, across kernels, in order.
  size_t first = text.find("1. uncoalesced_global_access in transpose_naive");
  size_t second = text.find("2. dominant_stall in transpose_naive");
  size_t third = text.find("3. warp_divergence in softmax_rows");
  EXPECT_NE(first, std::string::npos) << text;
  EXPECT_NE(second, std::string::npos) << text;
  EXPECT_NE(third, std::string::npos) << text;
  EXPECT_EQ(text.find("\n4. "), std::string::npos);
  EXPECT_NE(text.find("32.0 sectors per warp request"), std::string::npos);
  EXPECT_NE(text.find("14.2 of 32 threads"), std::string::npos);
  EXPECT_LT(text.size(), 1600u);
  EXPECT_EQ(render_for_prompt({}), "");
}

TEST(DatasheetPeaks, KnownArchitecturesAndAnUnknownOne) {
  EXPECT_DOUBLE_EQ(find_datasheet_peaks("sm_80").bandwidth_bytes_per_s, 2.039e12);
  EXPECT_DOUBLE_EQ(find_datasheet_peaks("sm_90").peak_flops_for(DType::kBF16), 989.5e12);
  EXPECT_DOUBLE_EQ(find_datasheet_peaks("sm_100").peak_flops_for(DType::kF32), 75e12);
  try {
    find_datasheet_peaks("sm_91");
    FAIL() << "sm_91 has no datasheet row";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("did you mean 'sm_90'"), std::string::npos)
        << error.what();
  }
}

TEST(Diagnosis, DocsExplainEveryRuleAndThreshold) {
  std::string docs = files::read(fs::path(KFORGE_SOURCE_DIR) / "docs/profiling.md");
  std::string rules = files::read(fs::path(KFORGE_SOURCE_DIR) / "profiler/diagnosis_rules.cpp");
  for (const DiagnosisRule& rule : diagnosis_rules())
    EXPECT_NE(docs.find("`" + std::string(finding_kind_name(rule.kind)) + "`"), std::string::npos)
        << finding_kind_name(rule.kind);
  // Every named threshold in the rules file appears in the docs.
  size_t at = 0;
  while ((at = rules.find("constexpr double k", at)) != std::string::npos) {
    size_t start = at + std::string("constexpr double ").size();
    std::string name = rules.substr(start, rules.find(' ', start) - start);
    EXPECT_NE(docs.find(name), std::string::npos) << name;
    at = start;
  }
  for (const DatasheetPeaks& peaks : datasheet_peaks())
    EXPECT_NE(docs.find(std::string(peaks.source)), std::string::npos) << peaks.source;
}

}  // namespace
}  // namespace kforge
