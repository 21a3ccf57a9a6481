#include "profiler/metric_set.hpp"

#include <array>

namespace kforge {
namespace {

constexpr MetricSource kCounter = MetricSource::kCounter;
constexpr MetricSource kLaunch = MetricSource::kLaunch;

// The curated set. Every counter here resolves on GA100, GH100 and GB100 with CUPTI 13.0's host
// API (tests/unit/metric_set_test.cpp); together they need the passes `kforge profile metrics`
// prints. A stall reason is the share of a warp's active cycles it spent stalled for that
// reason; the top ones for memory-, latency- and math-bound kernels are listed.
constexpr std::array kMetricSet = {
    // duration and throughput against the chip's peaks
    MetricSpec{"gpu__time_duration.sum", "duration", kCounter, "ns",
               "kernel duration, measured by the profiler (not kforge's timing)"},
    MetricSpec{"sm__throughput.avg.pct_of_peak_sustained_elapsed", "throughput", kCounter, "%",
               "SM (compute) throughput: the busiest SM unit against its peak"},
    MetricSpec{"gpu__compute_memory_throughput.avg.pct_of_peak_sustained_elapsed", "throughput",
               kCounter, "%", "memory throughput: the busiest memory unit against its peak"},
    // DRAM
    MetricSpec{"dram__throughput.avg.pct_of_peak_sustained_elapsed", "dram", kCounter, "%",
               "DRAM throughput against its peak"},
    MetricSpec{"dram__bytes_read.sum", "dram", kCounter, "bytes", "bytes read from DRAM"},
    MetricSpec{"dram__bytes_write.sum", "dram", kCounter, "bytes", "bytes written to DRAM"},
    // caches
    MetricSpec{"l1tex__t_sector_hit_rate.pct", "cache", kCounter, "%", "L1/TEX sector hit rate"},
    MetricSpec{"lts__t_sector_hit_rate.pct", "cache", kCounter, "%", "L2 sector hit rate"},
    MetricSpec{"lts__t_bytes.sum", "cache", kCounter, "bytes", "bytes through L2"},
    MetricSpec{"lts__t_sectors_srcunit_tex_lookup_miss.sum", "cache", kCounter, "sectors",
               "L2 sectors requested by L1 that missed (the L2 -> DRAM traffic they cause)"},
    // occupancy
    MetricSpec{"sm__warps_active.avg.pct_of_peak_sustained_active", "occupancy", kCounter, "%",
               "achieved occupancy: active warps against the SM's maximum"},
    MetricSpec{"sm__maximum_warps_per_active_cycle_pct", "occupancy", kLaunch, "%",
               "theoretical occupancy for this launch's block size, registers and shared memory"},
    MetricSpec{"launch__occupancy_limit_registers", "occupancy", kLaunch, "blocks",
               "blocks per SM the registers allow"},
    MetricSpec{"launch__occupancy_limit_shared_mem", "occupancy", kLaunch, "blocks",
               "blocks per SM the shared memory allows"},
    MetricSpec{"launch__occupancy_limit_warps", "occupancy", kLaunch, "blocks",
               "blocks per SM the block size (warps) allows"},
    MetricSpec{"launch__occupancy_limit_blocks", "occupancy", kLaunch, "blocks",
               "blocks per SM the SM's block slots allow"},
    MetricSpec{"launch__registers_per_thread", "occupancy", kLaunch, "registers",
               "registers per thread, as compiled"},
    MetricSpec{"launch__waves_per_multiprocessor", "occupancy", kLaunch, "waves",
               "grid size over what all SMs hold at once (a fraction means a tail)"},
    // global memory access pattern
    MetricSpec{"l1tex__average_t_sectors_per_request_pipe_lsu_mem_global_op_ld.ratio", "access",
               kCounter, "sectors", "sectors per global load request (4 is fully coalesced fp32)"},
    MetricSpec{"l1tex__average_t_sectors_per_request_pipe_lsu_mem_global_op_st.ratio", "access",
               kCounter, "sectors", "sectors per global store request"},
    // shared memory
    MetricSpec{"l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_ld.sum", "shared", kCounter,
               "count", "shared-memory bank conflicts on loads"},
    MetricSpec{"l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_st.sum", "shared", kCounter,
               "count", "shared-memory bank conflicts on stores"},
    // warp stall reasons
    MetricSpec{"smsp__warp_issue_stalled_long_scoreboard_per_warp_active.pct", "stalls", kCounter,
               "%", "stalled waiting for global/local memory (L1TEX) results"},
    MetricSpec{"smsp__warp_issue_stalled_short_scoreboard_per_warp_active.pct", "stalls", kCounter,
               "%", "stalled waiting for shared memory or special-function results"},
    MetricSpec{"smsp__warp_issue_stalled_barrier_per_warp_active.pct", "stalls", kCounter, "%",
               "stalled at __syncthreads"},
    MetricSpec{"smsp__warp_issue_stalled_mio_throttle_per_warp_active.pct", "stalls", kCounter, "%",
               "stalled on a full memory-input/output queue (shared memory pressure)"},
    MetricSpec{"smsp__warp_issue_stalled_lg_throttle_per_warp_active.pct", "stalls", kCounter, "%",
               "stalled on a full local/global memory queue"},
    MetricSpec{"smsp__warp_issue_stalled_math_pipe_throttle_per_warp_active.pct", "stalls",
               kCounter, "%", "stalled on a busy math pipe"},
    MetricSpec{"smsp__warp_issue_stalled_wait_per_warp_active.pct", "stalls", kCounter, "%",
               "stalled on a fixed-latency dependency"},
    MetricSpec{"smsp__warp_issue_stalled_no_instruction_per_warp_active.pct", "stalls", kCounter,
               "%", "stalled without an instruction to issue (instruction cache)"},
    // pipes
    MetricSpec{"sm__pipe_fma_cycles_active.avg.pct_of_peak_sustained_active", "pipes", kCounter,
               "%", "FMA pipe utilisation"},
    MetricSpec{"sm__pipe_tensor_cycles_active.avg.pct_of_peak_sustained_active", "pipes", kCounter,
               "%", "tensor pipe utilisation"},
    // divergence and instructions
    MetricSpec{"smsp__thread_inst_executed_per_inst_executed.ratio", "divergence", kCounter,
               "threads", "active threads per executed instruction (32 means no divergence)"},
    MetricSpec{"smsp__inst_executed.sum", "instructions", kCounter, "count",
               "warp instructions executed"},
    MetricSpec{"sm__inst_executed.avg.per_cycle_active", "instructions", kCounter, "ratio",
               "instructions per active cycle per SM (IPC)"},
};

}  // namespace

std::string_view metric_source_name(MetricSource source) {
  return source == MetricSource::kCounter ? "counter" : "launch";
}

std::span<const MetricSpec> metric_set() {
  return kMetricSet;
}

std::vector<std::string> metric_names(MetricSource source) {
  std::vector<std::string> names;
  for (const MetricSpec& metric : kMetricSet) {
    if (metric.source == source)
      names.emplace_back(metric.name);
  }
  return names;
}

std::optional<std::string> chip_for_arch(std::string_view arch) {
  // A plan's architecture-specific target ("sm_90a") runs on the same chip as its plain one.
  if (!arch.empty() && (arch.back() == 'a' || arch.back() == 'f'))
    arch.remove_suffix(1);
  struct Chip {
    std::string_view arch, chip;
  };
  static constexpr std::array<Chip, 7> kChips = {{{"sm_80", "GA100"},
                                                  {"sm_86", "GA102"},
                                                  {"sm_87", "GA10B"},
                                                  {"sm_89", "AD102"},
                                                  {"sm_90", "GH100"},
                                                  {"sm_100", "GB100"},
                                                  {"sm_120", "GB202"}}};
  for (const Chip& chip : kChips) {
    if (chip.arch == arch)
      return std::string(chip.chip);
  }
  return std::nullopt;
}

}  // namespace kforge
