#include "datasets/export/decontaminator.hpp"

#include <gtest/gtest.h>

#include "harness/util/error.hpp"
#include "tests/support/export_store.hpp"
#include "tests/support/test_support.hpp"

namespace kforge::dataset {
namespace {

constexpr const char* kMatmul =
    "import torch\nimport torch.nn as nn\n\nclass Model(nn.Module):\n"
    "    def __init__(self):\n        super().__init__()\n\n"
    "    def forward(self, A, B):\n        return torch.matmul(A, B)\n\n"
    "M = 1024\nK = 4096\nN = 2048\n\ndef get_inputs():\n"
    "    A = torch.randn(M, K)\n    B = torch.randn(K, N)\n    return [A, B]\n\n"
    "def get_init_inputs():\n    return []\n";

TEST(ExportDecontaminator, CatchesARenamedReformattedCopyAndSparesOthers) {
  testing::TemporaryDirectory dir;
  std::filesystem::create_directories(dir / "bench/level1");
  testing::write_text(dir / "bench/level1/1_matmul.py", kMatmul);
  testing::write_text(dir / "bench/level1/19_ReLU.py", testing::relu_task_source());
  DecontaminationOptions options;
  options.benchmark_dirs = {dir / "bench"};
  Decontaminator decontaminator(options);
  EXPECT_EQ(decontaminator.problem_count(), 2u);

  // The same program with every name changed, other sizes, other whitespace and comments.
  std::string renamed =
      "import torch\nimport torch.nn as nn\n# my own op\nclass Net(nn.Module):\n"
      "  def __init__(me):\n    super().__init__()\n  def forward(me, left, right):\n"
      "    return torch.matmul(left,right)\nrows = 512\ninner = 128\ncols = 64\n"
      "def get_inputs():\n  a = torch.randn(rows, inner)\n  b = torch.randn(inner, cols)\n"
      "  return [a, b]\ndef get_init_inputs():\n  return []\n";
  ContaminationFinding finding = decontaminator.check(renamed);
  EXPECT_TRUE(finding.contaminated);
  EXPECT_EQ(finding.problem, "bench/level1/1_matmul.py");
  EXPECT_GE(finding.overlap, 0.9);

  std::string softmax =
      "import torch\nimport torch.nn as nn\n\nclass Model(nn.Module):\n"
      "    def __init__(self, dim):\n        super().__init__()\n        self.dim = dim\n\n"
      "    def forward(self, x):\n        y = x - x.amax(dim=self.dim, keepdim=True)\n"
      "        return torch.exp(y) / torch.exp(y).sum(dim=self.dim, keepdim=True)\n";
  ContaminationFinding clean = decontaminator.check(softmax);
  EXPECT_FALSE(clean.contaminated) << clean.problem << " " << clean.overlap;
}

TEST(ExportDecontaminator, AMissingOrEmptyFolderIsAnErrorNamingIt) {
  testing::TemporaryDirectory dir;
  DecontaminationOptions options;
  options.benchmark_dirs = {dir / "nope"};
  try {
    Decontaminator decontaminator(options);
    FAIL() << "accepted a missing folder";
  } catch (const Error& failure) {
    EXPECT_NE(failure.where().find("nope"), std::string::npos);
  }
  options.benchmark_dirs = {dir.path()};
  EXPECT_THROW(Decontaminator{options}, Error);
}

}  // namespace
}  // namespace kforge::dataset
