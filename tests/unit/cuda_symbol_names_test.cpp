// The driver functions kforge and its kernel library resolve by name (dlsym) must be the entry
// points cuda.h maps them to: the header turns `cuDevicePrimaryCtxRelease` into
// `cuDevicePrimaryCtxRelease_v2`, `cuMemAlloc` into `cuMemAlloc_v2`, and so on, and the
// unversioned symbols the driver still exports are older ABIs kept for old binaries (a
// different signature or semantics). A name written in a symbol table bypasses the header's
// #define, so each one is checked here against the #defines parsed from the cuda.h the build
// compiles against.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "harness/util/files.hpp"

namespace kforge {
namespace {

struct CudaHeader {
  std::map<std::string, std::string> aliases;  // cuMemAlloc -> cuMemAlloc_v2
  std::set<std::string> functions;             // names declared `CUresult CUDAAPI name(`
};

CudaHeader parse_cuda_header(const std::string& text) {
  CudaHeader header;
  // `#define cuX cuX_v2`, or wrapped for the per-thread default stream:
  // `#define cuX __CUDA_API_PTDS(cuX_v2)`, which is cuX_v2 without that option.
  static const std::regex define(
      R"(^[ \t]*#[ \t]*define[ \t]+(cu[A-Za-z0-9_]+)[ \t]+(?:__CUDA_API_PT(?:DS|SZ)\()?[ \t]*(cu[A-Za-z0-9_]+))");
  static const std::regex declaration(R"(CUresult[ \t]+CUDAAPI[ \t]+(cu[A-Za-z0-9_]+)[ \t]*\()");
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos)
      end = text.size();
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    std::smatch match;
    if (line.find("define") != std::string::npos && std::regex_search(line, match, define) &&
        match[1] != match[2])
      header.aliases[match[1]] = match[2];
    if (line.find("CUDAAPI") != std::string::npos && std::regex_search(line, match, declaration))
      header.functions.insert(match[1]);
  }
  return header;
}

// Every "cuXxx" string literal in a source file: the names it resolves.
std::vector<std::string> symbol_literals(const std::string& source) {
  static const std::regex literal(R"re("(cu[A-Z][A-Za-z0-9_]*)")re");
  std::vector<std::string> names;
  for (auto it = std::sregex_iterator(source.begin(), source.end(), literal);
       it != std::sregex_iterator(); ++it)
    names.push_back((*it)[1]);
  return names;
}

// What is wrong with resolving `name`, or "".
std::string problem(const CudaHeader& header, const std::string& name) {
  if (auto alias = header.aliases.find(name); alias != header.aliases.end())
    return name + " is an older ABI: cuda.h maps it to " + alias->second;
  for (const auto& [unversioned, versioned] : header.aliases)
    if (versioned == name)
      return "";
  // cuCtxCreate_v2 where cuda.h maps cuCtxCreate to cuCtxCreate_v4.
  static const std::regex versioned(R"((cu[A-Za-z0-9_]+)_v[0-9]+)");
  std::smatch match;
  if (std::regex_match(name, match, versioned)) {
    if (auto alias = header.aliases.find(match[1]); alias != header.aliases.end())
      return name + " is an older version: cuda.h maps " + std::string(match[1]) + " to " +
             alias->second;
  }
  if (header.functions.count(name) == 0)
    return name + " is not a function of cuda.h";
  return "";
}

const CudaHeader& cuda_header() {
  static const CudaHeader header = parse_cuda_header(files::read(KFORGE_CUDA_HEADER));
  return header;
}

TEST(CudaSymbolNames, TheHeaderIsReadAsTheCompilerReadsIt) {
  const CudaHeader& header = cuda_header();
  EXPECT_EQ(header.aliases.at("cuDevicePrimaryCtxRelease"), "cuDevicePrimaryCtxRelease_v2");
  EXPECT_EQ(header.aliases.at("cuMemAlloc"), "cuMemAlloc_v2");
  EXPECT_EQ(header.aliases.at("cuMemcpyHtoD"), "cuMemcpyHtoD_v2");  // through __CUDA_API_PTDS
  EXPECT_EQ(header.aliases.at("cuCtxPushCurrent"), "cuCtxPushCurrent_v2");
  EXPECT_EQ(header.aliases.count("cuLaunchKernel"), 0u);  // per-thread streams only
  EXPECT_EQ(header.functions.count("cuLaunchKernel"), 1u);
  // The check itself catches the defects it exists for.
  EXPECT_NE(problem(header, "cuDevicePrimaryCtxRelease"), "");
  EXPECT_NE(problem(header, "cuMemFree"), "");
  EXPECT_NE(problem(header, "cuCtxCreate_v2"), "");  // cuda.h maps cuCtxCreate to _v4
  EXPECT_NE(problem(header, "cuNoSuchFunction"), "");
  EXPECT_EQ(problem(header, "cuDevicePrimaryCtxRelease_v2"), "");
  EXPECT_EQ(problem(header, "cuInit"), "");
}

// A symbol table, and how many names it has at least (so that a file that stops naming its
// symbols as literals fails here rather than passing with nothing checked).
class CudaSymbolTable : public ::testing::TestWithParam<std::pair<const char*, size_t>> {};

TEST_P(CudaSymbolTable, ResolvesTheEntryPointsCudaHMapsTo) {
  const auto [file, at_least] = GetParam();
  const std::vector<std::string> names =
      symbol_literals(files::read(std::string(KFORGE_SOURCE_DIR) + "/" + file));
  EXPECT_GE(names.size(), at_least) << file;
  for (const std::string& name : names)
    EXPECT_EQ(problem(cuda_header(), name), "") << file;
}

INSTANTIATE_TEST_SUITE_P(DriverTables, CudaSymbolTable,
                         ::testing::Values(std::pair{"kernels/runtime/driver_api.cpp", 41u},
                                           std::pair{"kernels/runtime/driver.cpp", 10u}));

}  // namespace
}  // namespace kforge
