#include "datasets/export/source_tokens.hpp"

#include <gtest/gtest.h>

namespace kforge::dataset {
namespace {

TEST(ExportSourceTokens, CommentsAndWhitespaceDoNotMatterButTheLaunchPlanDoes) {
  std::string a =
      "/* kforge:launch {\"kernels\": []} */\n// note\nextern \"C\" __global__ void "
      "k(float* x) { x[0] = 1; }";
  std::string b =
      "/*   kforge:launch\n{\"kernels\":[]}*/ extern \"C\"\n__global__   void k( "
      "float*x ){/* other */x[0]=1;}";
  std::string c =
      "/* kforge:launch {\"kernels\": [1]} */ extern \"C\" __global__ void "
      "k(float* x) { x[0] = 1; }";
  EXPECT_EQ(normalized_cuda(a), normalized_cuda(b));
  EXPECT_NE(normalized_cuda(a), normalized_cuda(c));
  EXPECT_EQ(normalized_cuda("x = 1; // gone"), "x = 1 ;");
}

TEST(ExportSourceTokens, PythonIdentifiersNumbersAndStringsAreNormalised) {
  std::string a =
      "import torch\nclass Model(nn.Module):\n    def forward(self, x):\n"
      "        return torch.relu(x) * 2  # double\n";
  std::string b =
      "import torch as T\nclass Net(nn.Module):\n  def forward(me,   inp):\n"
      "    return T.relu(inp) * 3\n";
  std::string c =
      "import torch\nclass Model(nn.Module):\n    def forward(self, x):\n"
      "        return torch.sigmoid(x) * 2\n";
  auto tokens_a = normalized_python_tokens(a);
  auto tokens_b = normalized_python_tokens(b);
  // `as T` adds two tokens; everything after the import must agree.
  ASSERT_GE(tokens_b.size(), 2u);
  EXPECT_EQ(std::vector<std::string>(tokens_a.begin() + 2, tokens_a.end()),
            std::vector<std::string>(tokens_b.begin() + 4, tokens_b.end()));
  EXPECT_NE(normalized_python_tokens(a), normalized_python_tokens(c));  // relu vs sigmoid
  EXPECT_EQ(normalized_python_tokens("s = 'a' + \"\"\"doc\"\"\""),
            (std::vector<std::string>{"ID", "=", "STR", "+", "STR"}));
}

TEST(ExportSourceTokens, HashesAreStableAcrossRuns) {
  // A fixed value: dedup decisions and exports must not change between builds or machines.
  EXPECT_EQ(stable_hash(""), mix_hash(0xcbf29ce484222325ULL));
  EXPECT_EQ(mix_hash(0), 0u);
  EXPECT_EQ(mix_hash(1), 0x5692161d100b05e5ULL);  // splitmix64's finaliser of 1
  EXPECT_EQ(stable_hash("kforge"), stable_hash("kforge"));
  EXPECT_NE(stable_hash("kforge"), stable_hash("kforgf"));
}

TEST(ExportSourceTokens, ShinglesCoverShortSequences) {
  EXPECT_TRUE(shingle_hashes({}, 5).empty());
  EXPECT_EQ(shingle_hashes({"a", "b"}, 5).size(), 1u);
  EXPECT_EQ(shingle_hashes({"a", "b", "c", "d", "e", "f"}, 5).size(), 2u);
}

}  // namespace
}  // namespace kforge::dataset
