// CUPTI's profiler host API (cupti_profiler_host.h, CUDA 13), opened at run time: what a chip
// can count and how many replay passes a set of metrics needs, from the chip name alone, with no
// GPU and no driver (this works on a machine without libcuda: tests/unit/metric_set_test.cpp).
// The range profiler (cupti_range_profiler.hpp) uses the same host object with the device's
// counter-availability image to build its configuration and to evaluate what it collected.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "profiler/metric_set.hpp"

struct CUpti_Profiler_Host_Object;

namespace kforge {

class DynamicLibrary;

// libcupti's host functions. Opening it throws Error naming what was tried.
class CuptiProfilerHost {
 public:
  // The process-wide one, from cupti_library_candidates().
  static CuptiProfilerHost& instance();
  // From the first of `names` that opens (tests name a missing file to see that failure).
  explicit CuptiProfilerHost(const std::vector<std::string>& names);
  ~CuptiProfilerHost();
  CuptiProfilerHost(const CuptiProfilerHost&) = delete;
  CuptiProfilerHost& operator=(const CuptiProfilerHost&) = delete;

  const std::string& path() const;
  // The chips this CUPTI knows ("GA100", "GH100", "GB100", ...).
  std::vector<std::string> supported_chips() const;

  struct Api;
  const Api& api() const { return *api_; }

 private:
  std::unique_ptr<DynamicLibrary> library_;
  std::unique_ptr<Api> api_;
};

// One CUpti_Profiler_Host_Object for the range profiler and one chip; deinitialised with the
// object. Throws CuptiError (profiler/cupti_library.hpp) naming the call that failed.
class CuptiHostObject {
 public:
  // `availability`: the device's counter-availability image, or empty for the chip alone.
  CuptiHostObject(const CuptiProfilerHost& host, const std::string& chip,
                  const std::vector<uint8_t>& availability = {});
  ~CuptiHostObject();
  CuptiHostObject(const CuptiHostObject&) = delete;
  CuptiHostObject& operator=(const CuptiHostObject&) = delete;

  // Whether the chip knows `metric` (cuptiProfilerHostGetMetricProperties); "" when it does,
  // else the CUPTI result's name.
  std::string resolve(const std::string& metric) const;
  // Adds the metrics in one call (CUPTI schedules metrics added together into fewer passes than
  // metrics added one by one), then returns the configuration image.
  std::vector<uint8_t> config_image(const std::vector<std::string>& metrics);
  // The replay passes a configuration image needs.
  size_t passes(std::vector<uint8_t>& image) const;
  // The metrics' values for one range of a decoded counter-data image.
  std::vector<double> evaluate(const std::vector<uint8_t>& counter_data, size_t range,
                               const std::vector<std::string>& metrics) const;

 private:
  const CuptiProfilerHost& host_;
  CUpti_Profiler_Host_Object* object_ = nullptr;
};

// One metric of the set as a chip resolves it.
struct MetricResolution {
  std::string name;
  MetricSource source = MetricSource::kCounter;
  // Counters: whether the chip's host API knows the name; launch metrics: true (the worker
  // computes them).
  bool resolved = false;
  std::string error;  // the CUPTI result when not resolved
};

// The metric set checked for one chip: each metric's resolution, and the passes the resolved
// counters need together.
struct MetricSetCheck {
  std::string arch;  // "sm_90"
  std::string chip;  // "GH100"
  std::vector<MetricResolution> metrics;
  size_t passes = 0;
  size_t config_image_bytes = 0;
  std::string cupti;  // the library's path

  size_t resolved_counters() const;
  nlohmann::json to_json() const;
};

// Checks the curated set (metric_set.hpp) for `arch` through `host`. Throws Error for an
// architecture without a chip name, or a chip this CUPTI does not know.
MetricSetCheck check_metric_set(const CuptiProfilerHost& host, const std::string& arch);

}  // namespace kforge
