#include "datasets/export/decontaminator.hpp"

#include <algorithm>
#include <unordered_set>

#include "datasets/export/source_tokens.hpp"
#include "harness/util/error.hpp"
#include "harness/util/files.hpp"

namespace kforge::dataset {

namespace fs = std::filesystem;

namespace {
std::unordered_set<uint64_t> distinct_ngrams(std::string_view source, int n) {
  std::vector<uint64_t> all = shingle_hashes(normalized_python_tokens(source), n);
  return {all.begin(), all.end()};
}
}  // namespace

std::string benchmark_label(const fs::path& dir) {
  fs::path normal = dir.lexically_normal();
  if (normal.filename().empty())
    normal = normal.parent_path();
  return normal.filename().string();
}

Decontaminator::Decontaminator(const DecontaminationOptions& options) : options_(options) {
  for (const fs::path& dir : options.benchmark_dirs) {
    if (!fs::is_directory(dir))
      throw Error("benchmark folder does not exist", "--exclude-benchmark " + dir.string());
    std::vector<fs::path> files;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      if (entry.is_regular_file() && entry.path().extension() == ".py")
        files.push_back(entry.path());
    }
    if (files.empty())
      throw Error("benchmark folder holds no .py problem", "--exclude-benchmark " + dir.string());
    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) {
      auto problem = static_cast<uint32_t>(problems_.size());
      problems_.push_back(
          (fs::path(benchmark_label(dir)) / fs::relative(file, dir)).generic_string());
      for (uint64_t ngram : distinct_ngrams(files::read(file), options.ngram_tokens))
        index_[ngram].push_back(problem);
    }
  }
}

ContaminationFinding Decontaminator::check(std::string_view task_source) const {
  ContaminationFinding finding;
  std::unordered_set<uint64_t> ngrams = distinct_ngrams(task_source, options_.ngram_tokens);
  if (ngrams.empty() || problems_.empty())
    return finding;
  std::vector<uint32_t> hits(problems_.size(), 0);
  for (uint64_t ngram : ngrams) {
    auto found = index_.find(ngram);
    if (found == index_.end())
      continue;
    for (uint32_t problem : found->second)
      ++hits[problem];
  }
  // The first problem with the most hits: ties go to the earlier (sorted) file.
  auto best = std::max_element(hits.begin(), hits.end());
  finding.overlap = static_cast<double>(*best) / static_cast<double>(ngrams.size());
  finding.problem = problems_[static_cast<size_t>(best - hits.begin())];
  finding.contaminated = finding.overlap >= options_.threshold;
  return finding;
}

}  // namespace kforge::dataset
