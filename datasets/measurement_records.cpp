#include "datasets/measurement_records.hpp"

#include "harness/util/json_text.hpp"

namespace kforge {

std::optional<BaselineRow> find_baseline(const Store& store, const BaselineKey& key) {
  auto query = store.db().prepare(
      "SELECT eager_us, compile_us, detail, created_at FROM baselines "
      "WHERE task_id = ? AND shape = ? AND dtype = ? AND gpu = ? AND torch_version = ?");
  query.bind(1, key.task_id)
      .bind(2, key.shape)
      .bind(3, key.dtype)
      .bind(4, key.gpu)
      .bind(5, key.torch_version);
  if (!query.step())
    return std::nullopt;
  BaselineRow row;
  row.key = key;
  row.eager_us = query.optional_real(0);
  row.compile_us = query.optional_real(1);
  row.detail = nlohmann::json::parse(query.text(2));
  row.created_at = query.text(3);
  return row;
}

void store_baseline(Store& store, const BaselineRow& row) {
  auto insert = store.db().prepare(
      "INSERT INTO baselines (task_id, shape, dtype, gpu, torch_version, eager_us, compile_us, "
      "detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT (task_id, shape, dtype, gpu, torch_version) DO UPDATE SET "
      "eager_us = excluded.eager_us, compile_us = excluded.compile_us, detail = excluded.detail, "
      "created_at = excluded.created_at");
  insert.bind(1, row.key.task_id)
      .bind(2, row.key.shape)
      .bind(3, row.key.dtype)
      .bind(4, row.key.gpu)
      .bind(5, row.key.torch_version)
      .bind(6, row.eager_us)
      .bind(7, row.compile_us)
      .bind(8, json_text(row.detail));
  insert.run();
}

int64_t delete_baselines(Store& store, const std::string& gpu) {
  auto remove = store.db().prepare("DELETE FROM baselines WHERE gpu = ?");
  remove.bind(1, gpu);
  remove.run();
  auto count = store.db().prepare("SELECT changes()");
  count.step();
  return count.integer(0);
}

std::map<std::string, DeviceMeasurementRow> find_device_measurements(const Store& store,
                                                                     const std::string& gpu,
                                                                     const std::string& driver) {
  auto query = store.db().prepare(
      "SELECT name, value, detail, measured_at FROM device_measurements "
      "WHERE gpu = ? AND driver = ?");
  query.bind(1, gpu).bind(2, driver);
  std::map<std::string, DeviceMeasurementRow> rows;
  while (query.step()) {
    rows[query.text(0)] =
        DeviceMeasurementRow{query.real(1), nlohmann::json::parse(query.text(2)), query.text(3)};
  }
  return rows;
}

void store_device_measurement(Store& store, const std::string& gpu, const std::string& driver,
                              const std::string& name, const DeviceMeasurementRow& row) {
  auto insert = store.db().prepare(
      "INSERT INTO device_measurements (gpu, driver, name, value, detail) VALUES (?, ?, ?, ?, ?) "
      "ON CONFLICT (gpu, driver, name) DO UPDATE SET value = excluded.value, "
      "detail = excluded.detail, measured_at = excluded.measured_at");
  insert.bind(1, gpu)
      .bind(2, driver)
      .bind(3, name)
      .bind(4, row.value)
      .bind(5, json_text(row.detail));
  insert.run();
}

}  // namespace kforge
