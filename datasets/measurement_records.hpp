// Measurements kept across runs so they are taken once: PyTorch baselines per task, shape,
// dtype, GPU and torch version (table `baselines`), and per-GPU figures such as copy bandwidth
// and peak arithmetic rates (table `device_measurements`). Plain rows; the harness decides when
// to measure.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "datasets/store.hpp"

namespace kforge {

// The cache key of a baseline: a PyTorch time is only comparable on the same task version,
// shape, dtype, GPU and torch version.
struct BaselineKey {
  int64_t task_id = 0;
  std::string shape = "benchmark";
  std::string dtype = "float32";
  std::string gpu;
  std::string torch_version;
};

struct BaselineRow {
  BaselineKey key;
  std::optional<double> eager_us, compile_us;        // medians; absent when that mode failed
  nlohmann::json detail = nlohmann::json::object();  // samples, statistics, method, errors
  std::string created_at;
};

std::optional<BaselineRow> find_baseline(const Store& store, const BaselineKey& key);
// Inserts, or replaces the row of the same key.
void store_baseline(Store& store, const BaselineRow& row);

// Drops the cached baselines taken on `gpu` (after its driver changed: `kforge nightly`), so the
// next evaluation of each task times them again; returns how many rows went.
int64_t delete_baselines(Store& store, const std::string& gpu);

// Named figures of one GPU under one driver ("copy_bandwidth_bytes_per_s", ...).
struct DeviceMeasurementRow {
  double value = 0;
  nlohmann::json detail = nlohmann::json::object();
  std::string measured_at;
};

std::map<std::string, DeviceMeasurementRow> find_device_measurements(const Store& store,
                                                                     const std::string& gpu,
                                                                     const std::string& driver);
void store_device_measurement(Store& store, const std::string& gpu, const std::string& driver,
                              const std::string& name, const DeviceMeasurementRow& row);

}  // namespace kforge
