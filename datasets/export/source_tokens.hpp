// Tokens of CUDA C++ and Python source, for comparing programs rather than compiling them:
// comments and whitespace are dropped, so two files that differ only in those compare equal.
// Used by deduplication (candidates) and decontamination (tasks against benchmark problems).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kforge::dataset {

// A stable 64-bit hash (FNV-1a, then a mixing step): the same on every run and machine, so
// that dedup decisions and exports are reproducible.
uint64_t stable_hash(std::string_view text);
uint64_t mix_hash(uint64_t value);

// CUDA/C++ tokens without comments and whitespace, except that the `kforge:launch` block is
// kept (tokenised): two candidates with the same kernels but different launch plans differ.
std::vector<std::string> cuda_tokens(std::string_view source);

// The normalised form used for exact duplicates: the tokens joined by single spaces.
std::string normalized_cuda(std::string_view source);

// Python tokens normalised so that renaming and reformatting do not change them: comments and
// whitespace dropped, every string literal becomes STR, every number NUM, every identifier ID
// except keywords and attribute names reached through something other than `self` (so
// `torch.relu` keeps `relu`, the API that carries the program's meaning, while `self.conv1`
// and a renamed `import torch as t` do not matter).
std::vector<std::string> normalized_python_tokens(std::string_view source);

// Hashes of every run of `n` consecutive tokens (one hash of the whole sequence when it is
// shorter than n), in order, duplicates included.
std::vector<uint64_t> shingle_hashes(const std::vector<std::string>& tokens, int n);

}  // namespace kforge::dataset
