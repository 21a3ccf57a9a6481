#include "datasets/export/deduplicator.hpp"

#include <algorithm>
#include <limits>

#include "datasets/export/source_tokens.hpp"

namespace kforge::dataset {

Deduplicator::Deduplicator(DedupMode mode, const DedupOptions& options)
    : mode_(mode), options_(options), bands_(kBands) {}

std::vector<uint64_t> Deduplicator::signature(std::string_view source) const {
  std::vector<uint64_t> shingles = shingle_hashes(cuda_tokens(source), options_.shingle_tokens);
  std::vector<uint64_t> minimum(kPermutations, std::numeric_limits<uint64_t>::max());
  for (uint64_t shingle : shingles) {
    // Permutation k: an odd multiplier and an offset derived from k, then a mix.
    for (int k = 0; k < kPermutations; ++k) {
      uint64_t value = mix_hash(shingle * (2 * static_cast<uint64_t>(k) + 1) +
                                0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(k));
      minimum[k] = std::min(minimum[k], value);
    }
  }
  return minimum;
}

double Deduplicator::estimated_similarity(const std::vector<uint64_t>& a,
                                          const std::vector<uint64_t>& b) {
  if (a.empty() || a.size() != b.size())
    return 0.0;
  size_t equal = 0;
  for (size_t i = 0; i < a.size(); ++i)
    equal += a[i] == b[i];
  return static_cast<double>(equal) / static_cast<double>(a.size());
}

DedupOutcome Deduplicator::offer(std::string_view scope, std::string_view source) {
  if (mode_ == DedupMode::kNone)
    return DedupOutcome::kKept;
  if (!has_scope_ || scope != scope_) {
    scope_ = std::string(scope);
    has_scope_ = true;
    exact_hashes_.clear();
    kept_signatures_.clear();
    for (auto& band : bands_)
      band.clear();
  }
  uint64_t exact = stable_hash(normalized_cuda(source));
  if (!exact_hashes_.insert(exact).second) {
    ++exact_;
    return DedupOutcome::kExactDuplicate;
  }
  if (mode_ == DedupMode::kExact)
    return DedupOutcome::kKept;

  std::vector<uint64_t> minhash = signature(source);
  constexpr int kRows = kPermutations / kBands;
  std::vector<uint64_t> band_keys(kBands);
  for (int band = 0; band < kBands; ++band) {
    uint64_t key = static_cast<uint64_t>(band);
    for (int row = 0; row < kRows; ++row)
      key = mix_hash(key ^ minhash[band * kRows + row]);
    band_keys[band] = key;
    auto found = bands_[band].find(key);
    if (found == bands_[band].end())
      continue;
    for (uint32_t kept : found->second) {
      if (estimated_similarity(minhash, kept_signatures_[kept]) >= options_.near_threshold) {
        ++near_;
        return DedupOutcome::kNearDuplicate;
      }
    }
  }
  auto index = static_cast<uint32_t>(kept_signatures_.size());
  kept_signatures_.push_back(std::move(minhash));
  for (int band = 0; band < kBands; ++band)
    bands_[band][band_keys[band]].push_back(index);
  return DedupOutcome::kKept;
}

}  // namespace kforge::dataset
