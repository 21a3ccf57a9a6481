// Where tests keep what outlives one run: virtual environments made from PyPI
// (tests/system/pip_cuda/make_venv.sh, tests/system/hf_datasets/make_venv.sh).
#pragma once

#include <filesystem>

namespace kforge::testing {

// $KFORGE_TEST_CACHE, else $XDG_CACHE_HOME/kforge-test, else ~/.cache/kforge-test.
std::filesystem::path test_cache_folder();

}  // namespace kforge::testing
