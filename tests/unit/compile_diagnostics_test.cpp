#include "sandbox/compile_diagnostics.hpp"

#include <gtest/gtest.h>

namespace kforge {
namespace {

TEST(CompileDiagnostics, FileLineAndTheCaretsColumnTabsIncluded) {
  // As NVRTC 13.0 wrote it for a candidate whose line 13 starts with a tab.
  std::string log =
      "broken.cu(13): error: identifier \"undeclared_name\" is undefined\n"
      "  \tif (i < n) out[i] = undeclared_name + x[i];\n"
      "  \t                    ^\n"
      "\n"
      "broken.cu(20): warning #177-D: variable \"unused\" was declared but never referenced\n"
      "    int unused;\n"
      "        ^\n"
      "\n"
      "broken.cu(31): error: expected a \";\"\n"
      "2 errors detected in the compilation of \"broken.cu\".\n"
      "ptxas info    : 0 bytes gmem\n";
  std::vector<CompileDiagnostic> found = compile_diagnostics(log);
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0].to_string(),
            "broken.cu:13:22: error: identifier \"undeclared_name\" is undefined");
  EXPECT_EQ(found[1].severity, "warning");
  EXPECT_EQ(found[1].line, 20);
  EXPECT_EQ(found[1].column, 7);
  // No quoted source after it: no column.
  EXPECT_EQ(found[2].to_string(), "broken.cu:31: error: expected a \";\"");
}

TEST(CompileDiagnostics, LinesThatAreNoneAreSkipped) {
  EXPECT_TRUE(compile_diagnostics("").empty());
  EXPECT_TRUE(compile_diagnostics("ptxas info : Used 8 registers\n(12): error: x\n").empty());
  EXPECT_TRUE(compile_diagnostics("a.cu(1x): error: x\na.cu(): error: y\n").empty());
  EXPECT_TRUE(compile_diagnostics("a.cu(99999999999999): error: x\n").empty());
  EXPECT_TRUE(compile_diagnostics("a.cu(3): note: see here\n").empty());
  // A caret line that is not one (text after the caret) gives no column.
  std::vector<CompileDiagnostic> found =
      compile_diagnostics("a.cu(3): error: bad\n  int x = ^y;\n  ^ not a caret\n");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].column, 0);
}

}  // namespace
}  // namespace kforge
