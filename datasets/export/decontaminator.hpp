// Finds tasks whose PyTorch program overlaps a benchmark's problems. Every `.py` file under a
// benchmark folder is a problem; programs are compared as sets of n-grams of normalised Python
// tokens (see normalized_python_tokens), so a copy with renamed identifiers, changed sizes or
// reformatted whitespace still overlaps. A task is contaminated when at least `threshold` of its
// distinct n-grams occur in one single problem.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "datasets/export/export_options.hpp"

namespace kforge::dataset {

struct ContaminationFinding {
  bool contaminated = false;
  std::string problem;   // the benchmark file it overlaps most (relative to its folder)
  double overlap = 0.0;  // share of the task's n-grams found in that problem
};

// The name a benchmark folder goes by in reports: its last path component ("KernelBench").
std::string benchmark_label(const std::filesystem::path& dir);

class Decontaminator {
 public:
  // Reads every .py under each folder (sorted, so results do not depend on directory order).
  // Throws Error naming the folder when it is missing or holds no .py file.
  explicit Decontaminator(const DecontaminationOptions& options);

  ContaminationFinding check(std::string_view task_source) const;
  size_t problem_count() const { return problems_.size(); }

 private:
  DecontaminationOptions options_;
  std::vector<std::string> problems_;
  std::unordered_map<uint64_t, std::vector<uint32_t>> index_;  // n-gram -> problems holding it
};

}  // namespace kforge::dataset
