// The diagnosis rules: every threshold, named, with why it is where it is; each rule as a small
// function; and the one table (kRules, at the end) that lists them with the metrics they need.
// docs/profiling.md explains the same table. Metric names are Nsight Compute's; values are in
// its base units (profiler/diagnosis.hpp).
//
// Every finding's `gain` is severity x gap: how bad the symptom is (0..1, the rule's own
// measure) times the roofline's gap (1 - floor / time: the most any change can gain; 1 where no
// floor is known). It orders findings, most time to gain first; it is not a prediction.
#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>

#include "profiler/diagnosis.hpp"
#include "profiler/diagnosis_text.hpp"

namespace kforge {
namespace {

using diagnosis_text::formatted;
using diagnosis_text::percent;
using diagnosis_text::si;

// ---- thresholds ---------------------------------------------------------------------------------

// A unit (DRAM, the SMs, a pipe) above 60% of its peak is what limits the kernel: Nsight
// Compute's speed-of-light guidance treats about 60% as high utilisation; below it, latency
// rather than throughput usually holds the kernel back.
constexpr double kBusyUnitPct = 60;
// Within 20% of a roof, doing the same work better gains little; only doing less work (fewer
// bytes, fewer FLOPs) moves the kernel further.
constexpr double kNearRoofFraction = 0.8;
// Sectors (32 B) per global-memory request of a warp: 32 consecutive 4-byte loads touch 4, 8-byte
// vector loads 8, 16-byte vector loads 16. More than 16 cannot come from any fully coalesced
// access: the warp's addresses are spread over more sectors than its bytes fill.
constexpr double kUncoalescedSectorsPerRequest = 16;
// The share of each fetched sector's bytes a warp used
// (smsp__sass_average_data_bytes_per_sector_*): below half, most of the global-memory traffic
// carries bytes nobody reads.
constexpr double kUncoalescedUsedBytesPct = 50;
// DRAM traffic over the bytes the task must move: tiled kernels re-read some inputs from DRAM, but
// past 1.5x the extra traffic costs as much as half the necessary traffic again.
constexpr double kExcessTrafficRatio = 1.5;
// Theoretical occupancy below 50%: fewer than half the warp slots can be filled, too few warps to
// hide memory latency unless each warp has much independent work.
constexpr double kLowOccupancyPct = 50;
// Bank conflicts as a share of shared-memory wavefronts: above one in five, the serialised extra
// passes cost a fifth of the shared-memory bandwidth or more.
constexpr double kBankConflictShare = 0.2;
// A grid with fewer blocks than SMs leaves SMs idle; under half a wave of the resident block slots
// there is too little parallel work to hide latency.
constexpr double kSmallGridWaves = 0.5;
// The partial last wave: when the idle share of the block slots over all waves, (ceil(w) - w) /
// ceil(w), is a fifth or more, the tail costs that share of the time.
constexpr double kTailIdleShare = 0.2;
// Average active threads per executed warp instruction below 24 of 32: a quarter of the lanes or
// more sit out, from divergent branches or partial warps.
constexpr double kDivergenceThreadsPerWarp = 24;
// One stall reason with 40% or more of the stall cycles dominates: it is the latency to attack.
constexpr double kDominantStallShare = 0.4;

// ---- metric names -------------------------------------------------------------------------------

constexpr std::string_view kDuration = "gpu__time_duration.sum";
constexpr std::string_view kDramPct = "dram__throughput.avg.pct_of_peak_sustained_elapsed";
constexpr std::string_view kSmPct = "sm__throughput.avg.pct_of_peak_sustained_elapsed";
constexpr std::string_view kDramBytes = "dram__bytes.sum";
constexpr std::string_view kDramRead = "dram__bytes_read.sum";
constexpr std::string_view kDramWrite = "dram__bytes_write.sum";
constexpr std::string_view kL2HitRate = "lts__t_sector_hit_rate.pct";
constexpr std::string_view kLoadSectors = "l1tex__t_sectors_pipe_lsu_mem_global_op_ld.sum";
constexpr std::string_view kLoadRequests = "l1tex__t_requests_pipe_lsu_mem_global_op_ld.sum";
constexpr std::string_view kStoreSectors = "l1tex__t_sectors_pipe_lsu_mem_global_op_st.sum";
constexpr std::string_view kStoreRequests = "l1tex__t_requests_pipe_lsu_mem_global_op_st.sum";
constexpr std::string_view kLoadUsedBytesPct =
    "smsp__sass_average_data_bytes_per_sector_mem_global_op_ld.pct";
constexpr std::string_view kStoreUsedBytesPct =
    "smsp__sass_average_data_bytes_per_sector_mem_global_op_st.pct";
constexpr std::string_view kTheoreticalOccupancy = "sm__maximum_warps_per_active_cycle_pct";
constexpr std::string_view kAchievedOccupancy = "sm__warps_active.avg.pct_of_peak_sustained_active";
constexpr std::string_view kRegisters = "launch__registers_per_thread";
constexpr std::string_view kLimitRegisters = "launch__occupancy_limit_registers";
constexpr std::string_view kLimitSharedMemory = "launch__occupancy_limit_shared_mem";
constexpr std::string_view kLimitBlocks = "launch__occupancy_limit_blocks";
constexpr std::string_view kLimitWarps = "launch__occupancy_limit_warps";
constexpr std::string_view kSharedPerBlock = "launch__shared_mem_per_block";
constexpr std::string_view kSharedStatic = "launch__shared_mem_per_block_static";
constexpr std::string_view kSharedDynamic = "launch__shared_mem_per_block_dynamic";
constexpr std::string_view kBankConflicts = "l1tex__data_bank_conflicts_pipe_lsu_mem_shared.sum";
constexpr std::string_view kSharedWavefronts = "l1tex__data_pipe_lsu_wavefronts_mem_shared.sum";
constexpr std::string_view kGridSize = "launch__grid_size";
constexpr std::string_view kBlockSize = "launch__block_size";
constexpr std::string_view kSmCount = "device__attribute_multiprocessor_count";
constexpr std::string_view kWaves = "launch__waves_per_multiprocessor";
constexpr std::string_view kFmaPipePct =
    "sm__pipe_fma_cycles_active.avg.pct_of_peak_sustained_active";
constexpr std::string_view kTensorPipePct =
    "sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_active";
constexpr std::string_view kTensorPipeAnyPct =
    "sm__pipe_tensor_cycles_active.avg.pct_of_peak_sustained_active";
constexpr std::string_view kThreadsPerInstruction =
    "smsp__thread_inst_executed_per_inst_executed.ratio";
constexpr std::string_view kThreadInstructions = "smsp__thread_inst_executed.sum";
constexpr std::string_view kInstructions = "smsp__inst_executed.sum";
constexpr std::string_view kUniformBranchesPct =
    "smsp__sass_average_branch_targets_threads_uniform.pct";

// Warp stall reasons, in the three forms Nsight Compute offers them (prefix, suffix); the first
// form with any reason present is used.
constexpr std::array<std::pair<std::string_view, std::string_view>, 3> kStallForms = {{
    {"smsp__average_warp_latency_issue_stalled_", ".ratio"},
    {"smsp__average_warps_issue_stalled_", "_per_issue_active.ratio"},
    {"smsp__warp_issue_stalled_", "_per_warp_active.pct"},
}};

// What to try for each stall reason; a reason not listed gets the general advice.
constexpr std::array<std::pair<std::string_view, std::string_view>, 12> kStallAdvice = {{
    {"long_scoreboard",
     "Warps wait on global or local memory: keep more loads in flight (unrolling, 128-bit loads, "
     "cp.async prefetch into shared memory) and avoid register spills."},
    {"short_scoreboard",
     "Warps wait on shared memory or special functions: fewer shared-memory round trips, no bank "
     "conflicts, values kept in registers."},
    {"barrier",
     "Warps wait at __syncthreads: balance work between warps, fewer barriers per tile, and "
     "double-buffer so loads overlap compute."},
    {"mio_throttle",
     "The shared-memory instruction queue is full: wider (vectorised) shared-memory accesses and "
     "fewer shared-memory instructions."},
    {"lg_throttle",
     "The global-memory instruction queue is full: fewer, wider (128-bit) global accesses."},
    {"math_pipe_throttle",
     "A math pipe is saturated: move work to another pipe (tensor cores for fp16/bf16, FMA "
     "instead of special functions)."},
    {"wait",
     "Fixed-latency dependencies: more independent instructions between dependent ones "
     "(unrolling, several accumulators)."},
    {"membar", "Memory fences: fewer __threadfence calls and atomics on the hot path."},
    {"branch_resolving", "Branch resolution: fewer (divergent) branches, more predication."},
    {"imc_miss",
     "Constant-cache misses: keep constant-memory accesses uniform across the warp and small."},
    {"no_instruction",
     "Instruction-cache misses: a smaller unrolled body or fewer template instantiations."},
    {"tex_throttle", "The texture pipe is full: fewer texture or __ldg requests per instruction."},
}};

// ---- what the rules read ------------------------------------------------------------------------

std::optional<double> metric(const RuleInput& input, std::string_view name) {
  return input.counters.metric(name);
}

// Whichever of the names is present first.
std::optional<double> first_of(const RuleInput& input,
                               std::initializer_list<std::string_view> names) {
  for (std::string_view name : names) {
    if (auto value = metric(input, name))
      return value;
  }
  return std::nullopt;
}

// DRAM bytes read and written: dram__bytes.sum, else read + write (write 0 when absent).
std::optional<double> dram_bytes(const RuleInput& input) {
  if (auto total = metric(input, kDramBytes))
    return total;
  auto read = metric(input, kDramRead);
  if (!read)
    return std::nullopt;
  return *read + metric(input, kDramWrite).value_or(0);
}

// The busiest of DRAM and the SMs, as a percentage of peak, where either is known.
std::optional<double> busiest_unit_pct(const RuleInput& input) {
  auto dram = metric(input, kDramPct);
  auto sm = metric(input, kSmPct);
  if (!dram && !sm)
    return std::nullopt;
  return std::max(dram.value_or(0), sm.value_or(0));
}

// Idle capacity where the unit figures are known: 1 - busiest / 100; 1 where not.
double headroom(const RuleInput& input) {
  auto busy = busiest_unit_pct(input);
  return busy ? std::clamp(1 - *busy / 100, 0.0, 1.0) : 1.0;
}

Finding make_finding(const RuleInput& input, FindingKind kind, double severity,
                     std::vector<std::pair<std::string, double>> numbers, std::string evidence,
                     std::string advice) {
  Finding finding;
  finding.kind = kind;
  finding.numbers = std::move(numbers);
  finding.evidence = std::move(evidence);
  finding.advice = std::move(advice);
  finding.gain = std::clamp(severity, 0.0, 1.0) * input.roofline.gap().value_or(1.0);
  return finding;
}

// ---- the rules ----------------------------------------------------------------------------------

// One roof's finding: its unit's throughput counter and the kernel's fraction of that roof.
struct RoofSide {
  FindingKind kind;
  Bound bound;                   // the roofline bound under which near-roof counts
  std::string_view unit_metric;  // the unit's throughput, % of peak
  const char* unit;              // "DRAM", "SM"
  const char* unit_number;       // the name of that number in the finding
  const char* roof;              // "bandwidth", "compute"
  const char* roof_number;
  const char* advice;
};

constexpr RoofSide kMemorySide = {
    FindingKind::kMemoryBound,
    Bound::kMemory,
    kDramPct,
    "DRAM",
    "dram_throughput_pct",
    "bandwidth",
    "bandwidth_roof_fraction",
    "Memory bandwidth is the limit: move fewer bytes (fuse with neighbouring operations, keep "
    "reused data in shared memory or registers, narrower types where accuracy allows)."};
constexpr RoofSide kComputeSide = {
    FindingKind::kComputeBound,
    Bound::kCompute,
    kSmPct,
    "SM",
    "sm_throughput_pct",
    "compute",
    "compute_roof_fraction",
    "The SMs are the limit: fewer instructions per result (tensor cores for fp16/bf16 via "
    "mma.sync or wmma, cheaper index arithmetic, work hoisted out of inner loops)."};

// Fires when the unit is busy (its counter, else the roof fraction, >= kBusyUnitPct) or the task
// binds on this roof and the kernel is within kNearRoofFraction of it.
std::optional<Finding> roof_finding(const RuleInput& input, const RoofSide& side,
                                    std::optional<double> fraction) {
  auto unit_pct = metric(input, side.unit_metric);
  double busy = unit_pct ? *unit_pct / 100 : fraction.value_or(0);
  bool near_roof = input.roofline.bound == side.bound && fraction.value_or(0) >= kNearRoofFraction;
  if (busy * 100 < kBusyUnitPct && !near_roof)
    return std::nullopt;
  std::vector<std::pair<std::string, double>> numbers;
  std::string evidence;
  if (unit_pct) {
    numbers.emplace_back(side.unit_number, *unit_pct);
    evidence = formatted("%s throughput is at %.0f%% of peak; ", side.unit, *unit_pct);
  }
  if (fraction) {
    numbers.emplace_back(side.roof_number, *fraction);
    evidence +=
        formatted("the kernel reaches %s of the %s roof; ", percent(*fraction).c_str(), side.roof);
  }
  evidence = evidence.substr(0, evidence.size() - 2) + ".";
  evidence[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(evidence[0])));
  return make_finding(input, side.kind, 1.0, std::move(numbers), evidence, side.advice);
}

std::optional<Finding> memory_bound(const RuleInput& input) {
  return roof_finding(input, kMemorySide, input.roofline.bandwidth_fraction);
}

std::optional<Finding> compute_bound(const RuleInput& input) {
  // A kernel whose DRAM is busier than its SMs is memory_bound's.
  auto dram_pct = metric(input, kDramPct);
  auto sm_pct = metric(input, kSmPct);
  if (dram_pct && sm_pct && *dram_pct > *sm_pct)
    return std::nullopt;
  return roof_finding(input, kComputeSide, input.roofline.compute_fraction);
}

std::optional<Finding> uncoalesced_global_access(const RuleInput& input) {
  // The exact measure where present: the share of each sector's bytes the warp used.
  auto load_used = metric(input, kLoadUsedBytesPct);
  auto store_used = metric(input, kStoreUsedBytesPct);
  if (load_used || store_used) {
    double used = std::min(load_used.value_or(100), store_used.value_or(100));
    if (used >= kUncoalescedUsedBytesPct)
      return std::nullopt;
    bool loads = load_used.value_or(100) <= store_used.value_or(100);
    return make_finding(
        input, FindingKind::kUncoalescedGlobalAccess, 1 - used / 100,
        {{loads ? "load_sector_bytes_used_pct" : "store_sector_bytes_used_pct", used}},
        formatted("Global %s use %.0f%% of the bytes of each 32-byte sector they fetch.",
                  loads ? "loads" : "stores", used),
        "Make neighbouring threads touch neighbouring addresses (index with threadIdx.x in the "
        "fastest-moving dimension, transpose through shared memory, structure of arrays).");
  }
  // Else sectors per request, loads and stores, the worse of the two.
  auto ratio = [&](std::string_view sectors, std::string_view requests) -> std::optional<double> {
    auto s = metric(input, sectors);
    auto r = metric(input, requests);
    if (!s || !r || *r <= 0)
      return std::nullopt;
    return *s / *r;
  };
  auto loads = ratio(kLoadSectors, kLoadRequests);
  auto stores = ratio(kStoreSectors, kStoreRequests);
  double worst = std::max(loads.value_or(0), stores.value_or(0));
  if (worst <= kUncoalescedSectorsPerRequest)
    return std::nullopt;
  bool load_worst = loads.value_or(0) >= stores.value_or(0);
  return make_finding(
      input, FindingKind::kUncoalescedGlobalAccess, 1 - 4 / worst,
      {{load_worst ? "load_sectors_per_request" : "store_sectors_per_request", worst}},
      formatted("Global %s touch %.1f sectors per warp request (4 for consecutive 4-byte "
                "accesses, 16 at most for any coalesced access).",
                load_worst ? "loads" : "stores", worst),
      "Make neighbouring threads touch neighbouring addresses (index with threadIdx.x in the "
      "fastest-moving dimension, transpose through shared memory, structure of arrays).");
}

std::optional<Finding> excess_l2_dram_traffic(const RuleInput& input) {
  auto moved = dram_bytes(input);
  if (!moved || !input.counters.bytes)
    return std::nullopt;
  double needed = *input.counters.bytes;
  if (needed <= 0 || *moved < kExcessTrafficRatio * needed)
    return std::nullopt;
  // The extra traffic costs time only where memory is what limits: a memory-bound task, or
  // DRAM busy.
  auto dram_pct = metric(input, kDramPct);
  if (input.roofline.bound != Bound::kMemory && !(dram_pct && *dram_pct >= kBusyUnitPct))
    return std::nullopt;
  std::vector<std::pair<std::string, double>> numbers = {
      {"dram_bytes", *moved}, {"task_bytes", needed}, {"traffic_ratio", *moved / needed}};
  std::string evidence =
      formatted("DRAM traffic is %.1fx the bytes the task must move (%s of %s)", *moved / needed,
                si(*moved, "B").c_str(), si(needed, "B").c_str());
  if (auto hit = metric(input, kL2HitRate)) {
    numbers.emplace_back("l2_hit_rate_pct", *hit);
    evidence += formatted("; L2 hit rate %.0f%%", *hit);
  }
  return make_finding(input, FindingKind::kExcessL2DramTraffic, 1 - needed / *moved,
                      std::move(numbers), evidence + ".",
                      "Read each input from DRAM once: tile so a block reuses what it loaded "
                      "(shared memory), order blocks so neighbours share L2 lines, fuse passes "
                      "over the same data.");
}

// Which launch limit binds occupancy: the limiter's blocks per SM is the least of all limits.
std::optional<Finding> occupancy_limited_by(const RuleInput& input, std::string_view limiter,
                                            FindingKind kind) {
  auto theoretical = metric(input, kTheoreticalOccupancy);
  auto limit = metric(input, limiter);
  if (!theoretical || !limit || *theoretical >= kLowOccupancyPct)
    return std::nullopt;
  if (auto busy = busiest_unit_pct(input); busy && *busy >= kBusyUnitPct)
    return std::nullopt;  // a unit is busy: the warps present suffice to keep it so
  for (std::string_view other : {kLimitRegisters, kLimitSharedMemory, kLimitBlocks, kLimitWarps}) {
    if (other == limiter)
      continue;
    if (auto value = metric(input, other); value && *value < *limit)
      return std::nullopt;  // another limit binds harder
  }
  std::vector<std::pair<std::string, double>> numbers = {
      {"theoretical_occupancy_pct", *theoretical}, {"blocks_per_sm_limit", *limit}};
  std::string evidence =
      formatted("Theoretical occupancy is %.0f%%, %.0f block(s) per SM", *theoretical, *limit);
  if (auto achieved = metric(input, kAchievedOccupancy)) {
    numbers.emplace_back("achieved_occupancy_pct", *achieved);
    evidence += formatted(" (achieved %.0f%%)", *achieved);
  }
  std::string advice;
  if (kind == FindingKind::kOccupancyLimitedByRegisters) {
    if (auto registers = metric(input, kRegisters)) {
      numbers.emplace_back("registers_per_thread", *registers);
      evidence += formatted(", limited by %.0f registers per thread", *registers);
    } else {
      evidence += ", limited by registers";
    }
    advice =
        "Use fewer registers per thread: __launch_bounds__ with a minimum of blocks per SM, "
        "fewer values live at once, smaller per-thread tiles.";
  } else {
    auto shared = metric(input, kSharedPerBlock);
    if (!shared) {
      auto s = metric(input, kSharedStatic);
      auto d = metric(input, kSharedDynamic);
      if (s || d)
        shared = s.value_or(0) + d.value_or(0);
    }
    if (shared) {
      numbers.emplace_back("shared_bytes_per_block", *shared);
      evidence += ", limited by " + si(*shared, "B") + " of shared memory per block";
    } else {
      evidence += ", limited by shared memory";
    }
    advice =
        "Use less shared memory per block: smaller tiles, fewer pipeline stages, or reuse "
        "one buffer for successive phases.";
  }
  return make_finding(input, kind, (1 - *theoretical / 100) * headroom(input), std::move(numbers),
                      evidence + ".", advice);
}

std::optional<Finding> occupancy_limited_by_registers(const RuleInput& input) {
  return occupancy_limited_by(input, kLimitRegisters, FindingKind::kOccupancyLimitedByRegisters);
}

std::optional<Finding> occupancy_limited_by_shared_memory(const RuleInput& input) {
  return occupancy_limited_by(input, kLimitSharedMemory,
                              FindingKind::kOccupancyLimitedBySharedMemory);
}

std::optional<Finding> shared_bank_conflicts(const RuleInput& input) {
  auto conflicts = metric(input, kBankConflicts);
  auto wavefronts = metric(input, kSharedWavefronts);
  if (!conflicts || !wavefronts || *wavefronts <= 0)
    return std::nullopt;
  double share = *conflicts / *wavefronts;
  if (share < kBankConflictShare)
    return std::nullopt;
  return make_finding(
      input, FindingKind::kSharedBankConflicts, std::min(share, 1.0),
      {{"bank_conflicts", *conflicts},
       {"shared_wavefronts", *wavefronts},
       {"conflict_share", share}},
      formatted("%s of shared-memory wavefronts are extra passes from bank conflicts (%.0f of "
                "%.0f).",
                percent(std::min(share, 1.0)).c_str(), *conflicts, *wavefronts),
      "Spread a warp's shared-memory accesses over the 32 banks: pad rows by one element "
      "(tile[32][33]), or swizzle the index.");
}

// The SM count: the device's own from the counters, else the ceilings'.
std::optional<double> sm_count(const RuleInput& input) {
  if (auto count = metric(input, kSmCount))
    return count;
  if (input.ceilings.sm_count > 0)
    return static_cast<double>(input.ceilings.sm_count);
  return std::nullopt;
}

std::optional<Finding> latency_bound_small_grid(const RuleInput& input) {
  auto grid = metric(input, kGridSize);
  auto waves = metric(input, kWaves);
  auto sms = sm_count(input);
  if (!grid && !waves)
    return std::nullopt;
  bool idle_sms = grid && sms && *grid < *sms;
  bool under_half_wave = waves && *waves < kSmallGridWaves;
  if (!idle_sms && !under_half_wave)
    return std::nullopt;
  if (auto busy = busiest_unit_pct(input); busy && *busy >= kBusyUnitPct)
    return std::nullopt;  // a busy unit, not the grid, limits it
  std::vector<std::pair<std::string, double>> numbers;
  std::string evidence;
  double severity = 0;
  if (grid) {
    numbers.emplace_back("grid_blocks", *grid);
    evidence = formatted("The grid has %.0f block(s)", *grid);
  }
  if (sms) {
    numbers.emplace_back("sm_count", *sms);
    evidence += formatted("%s %.0f SMs", evidence.empty() ? "The GPU has" : " for", *sms);
  }
  if (idle_sms)
    severity = 1 - *grid / *sms;
  if (waves) {
    numbers.emplace_back("waves_per_sm", *waves);
    evidence += formatted("%s%.2f waves", evidence.empty() ? "" : ", ", *waves);
    severity = std::max(severity, 1 - *waves);
  }
  if (auto duration = metric(input, kDuration)) {
    numbers.emplace_back("duration_ns", *duration);
    evidence += formatted("; it runs %s", si(*duration * 1e-9, "s").c_str());
  }
  return make_finding(input, FindingKind::kLatencyBoundSmallGrid, severity * headroom(input),
                      std::move(numbers), evidence + ".",
                      "Give the GPU more parallel work: more, smaller blocks (split the reduction "
                      "dimension, as split-K does), or fuse with neighbouring work.");
}

std::optional<Finding> tail_effect(const RuleInput& input) {
  auto waves = metric(input, kWaves);
  if (!waves || *waves <= 1)
    return std::nullopt;
  double full = std::ceil(*waves);
  double idle = (full - *waves) / full;
  if (idle < kTailIdleShare)
    return std::nullopt;
  return make_finding(
      input, FindingKind::kTailEffect, idle, {{"waves_per_sm", *waves}, {"idle_share", idle}},
      formatted("%.2f waves of blocks run as %.0f: the last wave leaves %s of the block slots "
                "idle over the kernel.",
                *waves, full, percent(idle).c_str()),
      "Size the grid to whole waves (a multiple of SMs x blocks per SM), or use a persistent "
      "grid-stride loop, or smaller blocks to even out the last wave.");
}

std::optional<Finding> low_pipe_utilisation(const RuleInput& input) {
  const Roofline& roofline = input.roofline;
  if (roofline.bound != Bound::kCompute ||
      roofline.compute_fraction.value_or(0) >= kNearRoofFraction)
    return std::nullopt;
  auto fma = metric(input, kFmaPipePct);
  auto tensor = first_of(input, {kTensorPipePct, kTensorPipeAnyPct});
  if (!fma && !tensor)
    return std::nullopt;
  double busiest = std::max(fma.value_or(0), tensor.value_or(0));
  if (busiest >= kBusyUnitPct)
    return std::nullopt;
  std::vector<std::pair<std::string, double>> numbers;
  std::string evidence = "The task is compute-bound, yet";
  if (fma) {
    numbers.emplace_back("fma_pipe_pct", *fma);
    evidence += formatted(" the FMA pipe is busy %.0f%% of cycles", *fma);
  }
  if (tensor) {
    numbers.emplace_back("tensor_pipe_pct", *tensor);
    evidence += formatted("%s the tensor pipe %.0f%%", fma ? "," : "", *tensor);
  }
  if (roofline.compute_fraction) {
    numbers.emplace_back("compute_roof_fraction", *roofline.compute_fraction);
    evidence += " (" + percent(*roofline.compute_fraction) + " of the compute roof)";
  }
  return make_finding(input, FindingKind::kLowPipeUtilisation, 1 - busiest / 100,
                      std::move(numbers), evidence + ".",
                      "Feed the math pipes: register-tile so each thread computes several "
                      "outputs per load, unroll the inner loop, and use tensor cores for "
                      "fp16/bf16 (mma.sync, wmma).");
}

std::optional<Finding> warp_divergence(const RuleInput& input) {
  auto threads = metric(input, kThreadsPerInstruction);
  if (!threads) {
    auto thread_instructions = metric(input, kThreadInstructions);
    auto instructions = metric(input, kInstructions);
    if (thread_instructions && instructions && *instructions > 0)
      threads = *thread_instructions / *instructions;
  }
  if (!threads || *threads >= kDivergenceThreadsPerWarp)
    return std::nullopt;
  std::vector<std::pair<std::string, double>> numbers = {{"threads_per_instruction", *threads}};
  std::string evidence =
      formatted("Warp instructions run with %.1f of 32 threads active on average", *threads);
  if (auto uniform = metric(input, kUniformBranchesPct)) {
    numbers.emplace_back("uniform_branches_pct", *uniform);
    evidence += formatted("; %.0f%% of branches are uniform across the warp", *uniform);
  }
  return make_finding(input, FindingKind::kWarpDivergence, 1 - *threads / 32, std::move(numbers),
                      evidence + ".",
                      "Keep a warp's threads on one path: branch on warp-uniform values, replace "
                      "data-dependent branches with arithmetic selects, and give tail work whole "
                      "warps.");
}

std::optional<Finding> dominant_stall(const RuleInput& input) {
  for (const auto& [prefix, suffix] : kStallForms) {
    std::vector<std::pair<std::string, double>> reasons;
    double total = 0;
    const auto& metrics = input.counters.metrics;
    for (auto it = metrics.lower_bound(prefix); it != metrics.end(); ++it) {
      const std::string& name = it->first;
      if (name.compare(0, prefix.size(), prefix) != 0)
        break;
      if (name.size() <= prefix.size() + suffix.size() ||
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
        continue;
      std::string reason = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
      // Selected and not_selected warps were ready to issue: not a stall.
      if (reason == "selected" || reason == "not_selected" || it->second < 0)
        continue;
      reasons.emplace_back(reason, it->second);
      total += it->second;
    }
    if (reasons.empty())
      continue;
    if (auto busy = busiest_unit_pct(input); busy && *busy >= kBusyUnitPct)
      return std::nullopt;  // stalls behind a saturated unit are its symptom, not the cause
    if (total <= 0)
      return std::nullopt;
    auto top = std::max_element(reasons.begin(), reasons.end(),
                                [](const auto& a, const auto& b) { return a.second < b.second; });
    double share = top->second / total;
    if (share < kDominantStallShare)
      return std::nullopt;
    std::string advice = "Shorten this stall: more independent work per warp, or more warps.";
    for (const auto& [reason, text] : kStallAdvice) {
      if (reason == top->first)
        advice = std::string(text);
    }
    return make_finding(
        input, FindingKind::kDominantStall, share * headroom(input),
        {{"stall_share", share}, {top->first, top->second}},
        formatted("%s of warp stall cycles are %s.", percent(share).c_str(), top->first.c_str()),
        advice);
  }
  return std::nullopt;
}

// ---- the table ----------------------------------------------------------------------------------

constexpr std::array<std::string_view, 1> kNeedsMemory = {
    "dram__throughput.avg.pct_of_peak_sustained_elapsed | gpu__time_duration.sum"};
constexpr std::array<std::string_view, 1> kNeedsCompute = {
    "sm__throughput.avg.pct_of_peak_sustained_elapsed | gpu__time_duration.sum"};
constexpr std::array<std::string_view, 1> kNeedsCoalescing = {
    "smsp__sass_average_data_bytes_per_sector_mem_global_op_ld.pct | "
    "smsp__sass_average_data_bytes_per_sector_mem_global_op_st.pct | "
    "l1tex__t_sectors_pipe_lsu_mem_global_op_ld.sum | "
    "l1tex__t_sectors_pipe_lsu_mem_global_op_st.sum"};
constexpr std::array<std::string_view, 2> kNeedsTraffic = {
    "task:bytes", "dram__bytes.sum | dram__bytes_read.sum"};
constexpr std::array<std::string_view, 2> kNeedsRegisters = {
    "sm__maximum_warps_per_active_cycle_pct", "launch__occupancy_limit_registers"};
constexpr std::array<std::string_view, 2> kNeedsSharedMemory = {
    "sm__maximum_warps_per_active_cycle_pct", "launch__occupancy_limit_shared_mem"};
constexpr std::array<std::string_view, 2> kNeedsBankConflicts = {
    "l1tex__data_bank_conflicts_pipe_lsu_mem_shared.sum",
    "l1tex__data_pipe_lsu_wavefronts_mem_shared.sum"};
constexpr std::array<std::string_view, 1> kNeedsGrid = {
    "launch__grid_size | launch__waves_per_multiprocessor"};
constexpr std::array<std::string_view, 1> kNeedsWaves = {"launch__waves_per_multiprocessor"};
constexpr std::array<std::string_view, 2> kNeedsPipes = {
    "task:flops",
    "sm__pipe_fma_cycles_active.avg.pct_of_peak_sustained_active | "
    "sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_active | "
    "sm__pipe_tensor_cycles_active.avg.pct_of_peak_sustained_active"};
constexpr std::array<std::string_view, 1> kNeedsDivergence = {
    "smsp__thread_inst_executed_per_inst_executed.ratio | smsp__thread_inst_executed.sum"};
constexpr std::array<std::string_view, 1> kNeedsStalls = {
    "smsp__average_warp_latency_issue_stalled_* | smsp__average_warps_issue_stalled_* | "
    "smsp__warp_issue_stalled_*"};

constexpr std::array kRules = std::to_array<DiagnosisRule>({
    {FindingKind::kMemoryBound,
     "DRAM throughput >= kBusyUnitPct (60%) of peak, or a memory-bound task within "
     "kNearRoofFraction (80%) of the bandwidth roof",
     kNeedsMemory, memory_bound},
    {FindingKind::kComputeBound,
     "SM throughput >= kBusyUnitPct (60%) and above DRAM's, or a compute-bound task within "
     "kNearRoofFraction (80%) of the compute roof",
     kNeedsCompute, compute_bound},
    {FindingKind::kUncoalescedGlobalAccess,
     "global accesses use < kUncoalescedUsedBytesPct (50%) of each sector's bytes, or touch > "
     "kUncoalescedSectorsPerRequest (16) sectors per request",
     kNeedsCoalescing, uncoalesced_global_access},
    {FindingKind::kExcessL2DramTraffic,
     "DRAM bytes >= kExcessTrafficRatio (1.5) x the bytes the task must move, and the task is "
     "memory-bound or DRAM >= kBusyUnitPct (60%) busy",
     kNeedsTraffic, excess_l2_dram_traffic},
    {FindingKind::kOccupancyLimitedByRegisters,
     "theoretical occupancy < kLowOccupancyPct (50%), the register limit allows the fewest "
     "blocks per SM, and no unit is >= kBusyUnitPct (60%) busy",
     kNeedsRegisters, occupancy_limited_by_registers},
    {FindingKind::kOccupancyLimitedBySharedMemory,
     "theoretical occupancy < kLowOccupancyPct (50%), the shared-memory limit allows the "
     "fewest blocks per SM, and no unit is >= kBusyUnitPct (60%) busy",
     kNeedsSharedMemory, occupancy_limited_by_shared_memory},
    {FindingKind::kSharedBankConflicts,
     "bank conflicts >= kBankConflictShare (20%) of shared-memory wavefronts", kNeedsBankConflicts,
     shared_bank_conflicts},
    {FindingKind::kLatencyBoundSmallGrid,
     "fewer blocks than SMs, or < kSmallGridWaves (0.5) waves, while no unit is >= "
     "kBusyUnitPct (60%) busy",
     kNeedsGrid, latency_bound_small_grid},
    {FindingKind::kTailEffect,
     "more than one wave and the partial last wave idles >= kTailIdleShare (20%) of the block "
     "slots",
     kNeedsWaves, tail_effect},
    {FindingKind::kLowPipeUtilisation,
     "a compute-bound task below kNearRoofFraction (80%) of its roof whose FMA and tensor pipes "
     "are both < kBusyUnitPct (60%) busy",
     kNeedsPipes, low_pipe_utilisation},
    {FindingKind::kWarpDivergence,
     "< kDivergenceThreadsPerWarp (24) of 32 threads active per warp instruction", kNeedsDivergence,
     warp_divergence},
    {FindingKind::kDominantStall,
     "one warp stall reason holds >= kDominantStallShare (40%) of the stall cycles, and no unit "
     "is >= kBusyUnitPct (60%) busy",
     kNeedsStalls, dominant_stall},
});

}  // namespace

std::span<const DiagnosisRule> diagnosis_rules() {
  return kRules;
}

}  // namespace kforge
