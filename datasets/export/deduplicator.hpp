// Drops candidates whose source repeats one already kept. Rows arrive best first within a
// scope (the exporter's order: correct before not, then fastest), so keeping the first of each
// group keeps the fastest. State is per scope (a task, or a task on one GPU) and holds hashes
// and MinHash signatures of kept rows, never sources.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "datasets/export/export_options.hpp"

namespace kforge::dataset {

enum class DedupOutcome { kKept, kExactDuplicate, kNearDuplicate };

class Deduplicator {
 public:
  static constexpr int kPermutations = 64;
  static constexpr int kBands = 16;  // 16 bands of 4: pairs near 0.5 Jaccard and up are compared

  Deduplicator(DedupMode mode, const DedupOptions& options);

  // Offers a row's source within `scope`; a new scope forgets the previous one.
  DedupOutcome offer(std::string_view scope, std::string_view source);

  int64_t exact_duplicates() const { return exact_; }
  int64_t near_duplicates() const { return near_; }

  // MinHash signature of a source (exposed for tests).
  std::vector<uint64_t> signature(std::string_view source) const;
  static double estimated_similarity(const std::vector<uint64_t>& a,
                                     const std::vector<uint64_t>& b);

 private:
  DedupMode mode_;
  DedupOptions options_;
  std::string scope_;
  bool has_scope_ = false;
  std::unordered_set<uint64_t> exact_hashes_;
  std::vector<std::vector<uint64_t>> kept_signatures_;
  std::vector<std::unordered_map<uint64_t, std::vector<uint32_t>>> bands_;
  int64_t exact_ = 0;
  int64_t near_ = 0;
};

}  // namespace kforge::dataset
