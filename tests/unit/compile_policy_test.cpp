// sandbox/source_policy: what a candidate may hand to NVRTC. Refusals first.
#include <gtest/gtest.h>

#include <string>

#include "harness/util/error.hpp"
#include "sandbox/nvrtc_api.hpp"
#include "sandbox/source_policy.hpp"

namespace kforge {
namespace {

using namespace std::string_literals;

std::optional<PolicyViolation> check(const std::string& source,
                                     std::map<std::string, std::string> defines = {}) {
  CompileRequest request;
  request.source = source;
  request.defines = std::move(defines);
  return check_compile_request(request, cuda_include_roots(), 4096);
}

void expect_refused(const std::string& source, CompileStatus status, const std::string& words) {
  auto violation = check(source);
  ASSERT_TRUE(violation.has_value()) << source;
  EXPECT_EQ(violation->status, status) << source;
  EXPECT_NE(violation->detail.find(words), std::string::npos) << violation->detail;
}

TEST(CompilePolicy, IncludeEscapesAreRefusedWithTheirPlace) {
  expect_refused("#include \"/etc/passwd\"\n", CompileStatus::kForbiddenInclude,
                 "an absolute path");
  expect_refused("\n  #include \"../x\"\n", CompileStatus::kForbiddenInclude, "candidate.cu:2:3");
  expect_refused("#include <../../etc/passwd>\n", CompileStatus::kForbiddenInclude, "'..'");
  expect_refused("#include \"local_helper.h\"\n", CompileStatus::kForbiddenInclude,
                 "not a CUDA or CCCL header");
  expect_refused("#include <stdio.h>\n", CompileStatus::kForbiddenInclude,
                 "not a CUDA or CCCL header");
  expect_refused("#include_next <x.h>\n", CompileStatus::kForbiddenInclude, "#include_next");
  expect_refused("#embed \"/etc/passwd\"\n", CompileStatus::kForbiddenInclude, "#embed");
}

TEST(CompilePolicy, DisguisedIncludesAreSeen) {
  // A macro-expanded header name cannot be checked before preprocessing: refused.
  expect_refused("#define F \"/etc/passwd\"\n#include F\n", CompileStatus::kForbiddenInclude,
                 "non-literal header name");
  // Digraph for '#', line splices inside the directive, comments between tokens.
  expect_refused("%:include \"/etc/passwd\"\n", CompileStatus::kForbiddenInclude, "absolute");
  expect_refused("#inc\\\nlude \"/etc/pass\\\nwd\"\n", CompileStatus::kForbiddenInclude,
                 "absolute");
  expect_refused("/* x */ # /* y */ include </etc/shadow>\n", CompileStatus::kForbiddenInclude,
                 "absolute");
}

TEST(CompilePolicy, HasIncludeProbesAreRefused) {
  expect_refused("#if __has_include(\"/etc/passwd\")\n#endif\n", CompileStatus::kForbiddenInclude,
                 "__has_include");
  expect_refused("#if __has_include_next(<../secret>)\n#endif\n", CompileStatus::kForbiddenInclude,
                 "__has_include_next");
  expect_refused("#define P \"/etc/passwd\"\n#if __has_include(P)\n#endif\n",
                 CompileStatus::kForbiddenInclude, "non-literal");
  expect_refused("#define H(x) __has_ ## include(x)\n", CompileStatus::kForbiddenInclude,
                 "token pasting");
  expect_refused("#pragma include_alias(\"a.h\", \"/etc/passwd\")\n",
                 CompileStatus::kForbiddenInclude, "#pragma");
}

TEST(CompilePolicy, SizeAndEncodingAreChecked) {
  expect_refused(std::string(5000, ' '), CompileStatus::kTooLarge, "over the limit of 4096");
  expect_refused("int a;\n// caf\xe9\n", CompileStatus::kNotUtf8, "candidate.cu:2:7");
  expect_refused("int a;\0int b;"s, CompileStatus::kNotUtf8, "NUL");
  expect_refused("\xc0\xaf", CompileStatus::kNotUtf8, "not UTF-8");      // overlong '/'
  expect_refused("\xed\xa0\x80", CompileStatus::kNotUtf8, "not UTF-8");  // a surrogate
  expect_refused("\xf0\x9f\x98", CompileStatus::kNotUtf8, "not UTF-8");  // truncated
}

TEST(CompilePolicy, DefinesMustBeIdentifiersWithOneLineValues) {
  auto bad_name = check("", {{"1X", "2"}});
  ASSERT_TRUE(bad_name);
  EXPECT_EQ(bad_name->status, CompileStatus::kInvalidDefine);
  auto newline = check("", {{"BLOCK", "256\n#include \"/etc/passwd\""}});
  ASSERT_TRUE(newline);
  EXPECT_EQ(newline->status, CompileStatus::kInvalidDefine);
  auto probe = check("", {{"P", "__has_include(\"/etc/passwd\")"}});
  ASSERT_TRUE(probe);
  EXPECT_EQ(probe->status, CompileStatus::kForbiddenInclude);
  EXPECT_NE(probe->detail.find("define P"), std::string::npos) << probe->detail;
}

TEST(CompilePolicy, OptionsOutsideTheAllowedListAreErrors) {
  EXPECT_THROW(check_nvrtc_options({"-I/etc"}), Error);
  EXPECT_THROW(check_nvrtc_options({"--include-path=/"}), Error);
  EXPECT_THROW(check_nvrtc_options({"--pre-include=/etc/passwd"}), Error);
  EXPECT_THROW(check_nvrtc_options({"--maxrregcount=32 -I/"}), Error);
  EXPECT_NO_THROW(check_nvrtc_options({"--use_fast_math", "--maxrregcount=64", "-std=c++20"}));
}

TEST(CompilePolicy, ToolkitHeadersAndInertTextAreAllowed) {
  if (cuda_include_roots().empty())
    GTEST_SKIP() << "no CUDA toolkit headers on this machine";
  EXPECT_FALSE(
      check("#include <cuda_fp16.h>\n#include \"cuda_bf16.h\"\n"
            "#include <cuda/std/cstdint>\n#if __has_include(<cuda/std/span>)\n#endif\n"));
  // Include-like text in comments, strings, raw strings and char literals is not a directive.
  EXPECT_FALSE(
      check("// #include \"/etc/passwd\"\n/* #include </etc/shadow> */\n"
            "const char* s = \"#include </etc/passwd>\";\n"
            "const char* r = R\"x(\n#include \"/etc/passwd\"\n)x\";\n"
            "int n = 1'000'000; char c = '#';\n"));
  EXPECT_FALSE(check("", {{"BLOCK", "256"}, {"SCALE", "(1.5f * 2)"}}));
}

}  // namespace
}  // namespace kforge
