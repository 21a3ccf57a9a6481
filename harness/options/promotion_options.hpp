// Promotion's options (promote.min_speedup): plain settings whose defaults harness/config.cpp
// reads. They sit at the bottom of the layers so that the configuration table includes nothing
// above it; harness/library/promotion.hpp includes it.
#pragma once

#include <filesystem>
#include <string>

namespace kforge {

struct PromotionOptions {
  std::filesystem::path library_root;  // the folder holding <operation>/<variant>/
  double min_speedup_eager = 1.0;
  std::string variant;  // the folder name; "" gives candidate_<id>
};

}  // namespace kforge
