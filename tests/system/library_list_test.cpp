// `kforge library list` and `show` through the real binary: a new workspace sees the kernels
// kforge ships (kernels/ of the source tree: promoted ones and seeds), and a workspace's own
// library (library.dir) is listed beside them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harness/util/files.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

namespace fs = std::filesystem;
using testing::run_kforge;

// The kernel folders under the source tree's kernels/ (<operation>/<variant> and
// seeds/<operation>/<variant>), named as `library list` names them.
std::vector<std::string> shipped_kernel_names() {
  std::vector<std::string> names;
  const fs::path root = testing::source_dir() / "kernels";
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.path().filename() == "kernel.cu")
      names.push_back(fs::relative(entry.path().parent_path(), root).string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

nlohmann::json list_json(const fs::path& workspace, std::vector<std::string> extra = {}) {
  std::vector<std::string> arguments = {"library", "list", "--json"};
  arguments.insert(arguments.end(), extra.begin(), extra.end());
  ProcessResult result = run_kforge(arguments, workspace);
  EXPECT_EQ(result.exit_code, 0) << result.standard_error;
  return nlohmann::json::parse(result.standard_output)["kernels"];
}

TEST(LibraryListTest, NewWorkspaceListsTheKernelsKforgeShips) {
  testing::TemporaryDirectory workspace;
  const std::vector<std::string> shipped = shipped_kernel_names();
  ASSERT_FALSE(shipped.empty());
  const nlohmann::json kernels = list_json(workspace.path());
  std::vector<std::string> names;
  for (const nlohmann::json& kernel : kernels) {
    names.push_back(kernel["name"]);
    EXPECT_EQ(kernel["library"], "kforge") << kernel.dump();
    EXPECT_FALSE(kernel.contains("problem")) << kernel.dump();
  }
  EXPECT_EQ(names, shipped);

  ProcessResult table = run_kforge({"library", "list"}, workspace.path());
  ASSERT_EQ(table.exit_code, 0) << table.standard_error;
  EXPECT_NE(table.standard_output.find("seeds/softmax/"), std::string::npos)
      << table.standard_output;
  ProcessResult show = run_kforge({"library", "show", "seeds/relu/vectorized"}, workspace.path());
  ASSERT_EQ(show.exit_code, 0) << show.standard_error;
  EXPECT_NE(show.standard_output.find("(seed, kforge library)"), std::string::npos)
      << show.standard_output;
  // Listing creates nothing in the workspace.
  EXPECT_TRUE(fs::is_empty(workspace.path()));
}

TEST(LibraryListTest, WorkspaceKernelsAreListedBesideKforgesAndHideTheSameName) {
  testing::TemporaryDirectory workspace;
  const fs::path seed = testing::source_dir() / "kernels/seeds/relu/vectorized";
  for (const char* folder : {"kernels/relu/mine", "kernels/seeds/relu/vectorized"}) {
    fs::create_directories(workspace / folder);
    for (const char* file : {"kernel.cu", "manifest.json"})
      fs::copy_file(seed / file, workspace / folder / file);
  }
  const nlohmann::json kernels = list_json(workspace.path());
  EXPECT_EQ(kernels.size(), shipped_kernel_names().size() + 1);
  std::map<std::string, std::string> library;
  for (const nlohmann::json& kernel : kernels)
    library[kernel["name"]] = kernel["library"];
  EXPECT_EQ(library["relu/mine"], "workspace");
  EXPECT_EQ(library["seeds/relu/vectorized"], "workspace");
  EXPECT_EQ(library["seeds/softmax/online_block"], "kforge");

  // --library names one folder: that one alone.
  const nlohmann::json own = list_json(workspace.path(), {"--library", "kernels"});
  ASSERT_EQ(own.size(), 2u);
  EXPECT_EQ(own[0]["name"], "relu/mine");
  EXPECT_EQ(own[1]["name"], "seeds/relu/vectorized");
}

TEST(LibraryListTest, SourceTreeAsWorkspaceListsItsKernelsOnce) {
  // The source tree's library.dir (kernels/) is kforge's own folder.
  const nlohmann::json kernels = list_json(testing::source_dir());
  std::vector<std::string> names;
  for (const nlohmann::json& kernel : kernels) {
    names.push_back(kernel["name"]);
    EXPECT_EQ(kernel["library"], "kforge") << kernel.dump();
  }
  EXPECT_EQ(names, shipped_kernel_names());
}

TEST(LibraryListTest, NamedLibraryFolderThatDoesNotExistIsAnError) {
  testing::TemporaryDirectory workspace;
  ProcessResult result = run_kforge({"library", "list", "--library", "nowhere"}, workspace.path());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.standard_error.find("kforge: error: the kernel library folder does not exist"),
            std::string::npos)
      << result.standard_error;
}

}  // namespace
}  // namespace kforge
