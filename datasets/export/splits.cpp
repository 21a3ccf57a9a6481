#include "datasets/export/splits.hpp"

#include <cstdint>

#include "harness/util/hash.hpp"

namespace kforge::dataset {

std::string_view split_name(Split split) {
  switch (split) {
    case Split::kTrain:
      return "train";
    case Split::kValidation:
      return "validation";
    case Split::kTest:
      return "test";
  }
  return "train";
}

int split_bucket(std::string_view task_name) {
  std::string hex = sha256_hex(std::string("kforge-split:") + std::string(task_name));
  uint64_t value = std::stoull(hex.substr(0, 16), nullptr, 16);
  return static_cast<int>(value % 100);
}

Split split_of(std::string_view task_name, const SplitRatios& ratios) {
  int bucket = split_bucket(task_name);
  if (bucket < ratios.train)
    return Split::kTrain;
  if (bucket < ratios.train + ratios.validation)
    return Split::kValidation;
  return Split::kTest;
}

}  // namespace kforge::dataset
