// sandbox/source_policy: probes of the host's files assembled by the preprocessor rather than
// written out, which the token-level include check alone does not see (issue 11, item 11).
#include <gtest/gtest.h>

#include <string>

#include "sandbox/nvrtc_api.hpp"
#include "sandbox/source_policy.hpp"

namespace kforge {
namespace {

std::optional<PolicyViolation> check(const std::string& source,
                                     std::map<std::string, std::string> defines = {}) {
  CompileRequest request;
  request.source = source;
  request.defines = std::move(defines);
  return check_compile_request(request, cuda_include_roots(), 1 << 20);
}

void expect_forbidden(const std::string& source, const std::string& words,
                      std::map<std::string, std::string> defines = {}) {
  auto violation = check(source, std::move(defines));
  ASSERT_TRUE(violation.has_value()) << source;
  EXPECT_EQ(violation->status, CompileStatus::kForbiddenInclude) << source;
  EXPECT_NE(violation->detail.find(words), std::string::npos) << violation->detail;
}

// The report's case: a generic CAT macro, the probe's halves as its arguments.
TEST(CompilePolicyPasting, ProbeAssembledFromMacroArgumentsIsRefused) {
  expect_forbidden(
      "#define CAT(a,b) a##b\n#if CAT(__has_,include)(\"/etc/passwd\")\nint leak;\n#endif\n",
      "'__has_' ## 'include'");
  // The place named is the ## that could paste it.
  expect_forbidden("#define CAT(a,b) a##b\n#if CAT(__has_,include)(\"/etc/passwd\")\n#endif\n",
                   "candidate.cu:1:19");
}

TEST(CompilePolicyPasting, EveryWayOfCuttingTheProbeIsSeen) {
  // Three pieces through nested macros, the digraph spelling of ##, a split that leaves no
  // piece looking like "has_" or "include", the _next and __ spellings, and __has_embed.
  expect_forbidden(
      "#define C3(a,b,c) a##b##c\n#define X(a,b,c) C3(a,b,c)\n"
      "#if X(__h,as_inc,lude)(\"/etc/shadow\")\n#endif\n",
      "'__h' ## 'as_inc' ## 'lude'");
  expect_forbidden("#define CAT(a,b) a%:%:b\n#if CAT(__has_,include)(\"/x\")\n#endif\n",
                   "__has_include");
  expect_forbidden("#define CAT(a,b) a##b\n#if CAT(__ha,s_incl)ude\n#endif\n", "__has_include");
  expect_forbidden("#define CAT(a,b) a##b\n#if CAT(__has_inc,lude_next)(<x>)\n#endif\n",
                   "__has_include_next");
  expect_forbidden("#define CAT(a,b) a##b\n#if CAT(__has_em,bed)(\"/x\")\n#endif\n", "__has_embed");
  expect_forbidden("#define CAT(a,b) a##b\n#if CAT(__has_include_,_)(\"/x\")\n#endif\n",
                   "__has_include__");
  // A piece that only a define's value holds: the define is a macro body too.
  expect_forbidden(
      "#define CAT(a,b) a##b\n#define CAT2(a,b) CAT(a,b)\n"
      "#if CAT2(PIECE,include)(\"/x\")\n#endif\n",
      "__has_include", {{"PIECE", "__has_"}});
}

TEST(CompilePolicyPasting, UniversalCharacterNamesOutsideLiteralsAreRefused) {
  expect_forbidden("#if __has_includ\\u0065(\"/etc/passwd\")\n#endif\n",
                   "universal character name");
  expect_forbidden("#if __has_includ\\U00000065(\"/etc/passwd\")\n#endif\n",
                   "universal character name");
  // In a literal or a comment, \u is text.
  EXPECT_FALSE(check("const char* s = \"\\u00e9\"; // \\u0065\n"));
}

TEST(CompilePolicyPasting, PragmaOperatorIsCheckedLikePragma) {
  expect_forbidden("_Pragma(\"include_alias(\\\"a.h\\\", \\\"/etc/passwd\\\")\")\n", "_Pragma");
  expect_forbidden("#define P(x) _Pragma(#x)\nP(include_alias(\"a.h\", \"/etc/passwd\"))\n",
                   "_Pragma");
  EXPECT_FALSE(
      check("#define UNROLL _Pragma(\"unroll\")\n#define P(x) _Pragma(#x)\nP(unroll 4)\n"));
}

// Pasting is an ordinary tool in kernels; only the pieces of a probe make it suspect.
TEST(CompilePolicyPasting, OrdinaryPastingIsAllowed) {
  EXPECT_FALSE(check(
      "#define CAT(a,b) a##b\n#define KERNEL(n) extern \"C\" __global__ void CAT(scale_, n)()\n"
      "KERNEL(f32) {}\nKERNEL(f16) {}\nint CAT(has, _value) = 0; int include_count = 1;\n"));
}

}  // namespace
}  // namespace kforge
