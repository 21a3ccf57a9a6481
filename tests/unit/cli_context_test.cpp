// cli/context: what the command line hands down, here the GPU worker command tests put in
// place of `kforge worker gpu` (KFORGE_GPU_WORKER, read once in cli/app.cpp).
#include "cli/context.hpp"

#include <gtest/gtest.h>

namespace kforge::cli {
namespace {

using Words = std::vector<std::string>;

TEST(GpuWorkerCommand, IsTheVariableSplitAtSpaces) {
  EXPECT_EQ(gpu_worker_command_from("/usr/bin/python3 worker.py --name GPU"),
            (Words{"/usr/bin/python3", "worker.py", "--name", "GPU"}));
  EXPECT_EQ(gpu_worker_command_from("  python3   worker.py  "), (Words{"python3", "worker.py"}));
  EXPECT_EQ(gpu_worker_command_from("worker"), (Words{"worker"}));
}

// A variable of spaces alone once reached words.front() of an empty list (undefined
// behaviour); it now means no replacement, like an unset or empty one.
TEST(GpuWorkerCommand, UnsetEmptyOrBlankIsNoReplacement) {
  EXPECT_TRUE(gpu_worker_command_from(nullptr).empty());
  EXPECT_TRUE(gpu_worker_command_from("").empty());
  EXPECT_TRUE(gpu_worker_command_from("   ").empty());
}

}  // namespace
}  // namespace kforge::cli
