// The kernel library's GPU-free parts: reading a kernel file's plan, define options, listing
// shipped kernels, choosing a variant for an architecture, opening missing libraries, NVRTC.
#include <gtest/gtest.h>

#include <functional>

#include "kforge/kernels/driver.hpp"
#include "kforge/kernels/error.hpp"
#include "kforge/kernels/kernel_file.hpp"
#include "kforge/kernels/library.hpp"
#include "kforge/kernels/nvrtc.hpp"
#include "kforge/kernels/shared_library.hpp"
#include "tests/support/test_support.hpp"

namespace kforge::kernels {
namespace {

using kforge::testing::TemporaryDirectory;
using kforge::testing::write_text;

const std::string kPlanned = R"plan(// a kernel
/* kforge:launch
{
  "kernels": [
    {"name": "scale", "grid": ["ceil_div(x.numel, BLOCK)"], "block": ["BLOCK"],
     "args": ["x", "out", "x.numel"]}
  ],
  "defines": {"BLOCK": {"default": 256, "values": [128, 256]}, "VEC": {"default": 4}}
}
*/
extern "C" __global__ void scale(const float* x, float* out, long long n) {}
)plan";

std::string message_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const KernelError& error) {
    return error.what();
  }
  return "(no error)";
}

TEST(KernelFile, ReadsLaunchesAndDefines) {
  const KernelFile file = parse_kernel_file(kPlanned, "scale.cu");
  ASSERT_EQ(file.launches.size(), 1u);
  EXPECT_EQ(file.launches[0].name, "scale");
  EXPECT_EQ(file.launches[0].grid, std::vector<std::string>{"ceil_div(x.numel, BLOCK)"});
  EXPECT_EQ(file.launches[0].shared_bytes, "0");
  EXPECT_EQ(file.launches[0].args, (std::vector<std::string>{"x", "out", "x.numel"}));
  ASSERT_EQ(file.defines.size(), 2u);
  EXPECT_EQ(file.defines[0].name, "BLOCK");
  EXPECT_EQ(file.defines[0].values, (std::vector<long long>{128, 256}));
  EXPECT_EQ(file.defines[1].values, std::vector<long long>{4});  // values default to [default]
}

// The plan's constraints are read by the shared reader (a value must be a define) and kept as
// text, in plan order, for prepare_launch to check at every call.
TEST(KernelFile, ReadsConstraintsAndRefusesOnesOverUnknownDefines) {
  const auto with = [](const std::string& constraints) {
    std::string text = kPlanned;
    text.replace(text.find("\n}\n*/"), 1, ",\n  \"constraints\": " + constraints + "\n");
    return text;
  };
  const KernelFile file = parse_kernel_file(
      with(R"(["BLOCK * VEC <= 1024", "x.shape[0] % VEC == 0 || VEC == 1"])"), "scale.cu");
  EXPECT_EQ(file.constraints,
            (std::vector<std::string>{"BLOCK * VEC <= 1024", "x.shape[0] % VEC == 0 || VEC == 1"}));
  EXPECT_TRUE(parse_kernel_file(kPlanned, "scale.cu").constraints.empty());
  EXPECT_EQ(message_of([&] { parse_kernel_file(with(R"(["BLOK <= 512"])"), "scale.cu"); }),
            "launch plan: constraint 1 \"BLOK <= 512\": unknown define 'BLOK' (allowed: BLOCK, "
            "VEC) (scale.cu:9:20)");
  EXPECT_EQ(message_of([&] { parse_kernel_file(with(R"(["BLOCK = 512"])"), "scale.cu"); }),
            "launch plan: constraint 1 \"BLOCK = 512\": '=' is not an operator; write '==' "
            "(scale.cu:9:26)");
}

TEST(KernelFile, DefineOptionsUseDefaultsAndOverrides) {
  const KernelFile file = parse_kernel_file(kPlanned, "scale.cu");
  EXPECT_EQ(file.define_options(), (std::vector<std::string>{"-DBLOCK=256", "-DVEC=4"}));
  EXPECT_EQ(file.define_options({{"BLOCK", 128}}),
            (std::vector<std::string>{"-DBLOCK=128", "-DVEC=4"}));
  EXPECT_EQ(message_of([&] {
              file.define_options({{"BLOK", 1}});
            }),
            "unknown define 'BLOK' (the file declares: BLOCK, VEC) (scale.cu)");
}

TEST(KernelFile, MissingPlanIsNamed) {
  EXPECT_EQ(message_of([] { parse_kernel_file("extern \"C\" __global__ void k() {}", "k.cu"); }),
            "no launch plan: the file needs one block comment /* kforge:launch {...} */ holding "
            "the plan as JSON (k.cu:1:1)");
  EXPECT_EQ(message_of([] { parse_kernel_file("\n/* kforge:launch {", "k.cu"); }),
            "the kforge:launch comment is not closed with */ (k.cu:2:1)");
}

TEST(KernelFile, BadJsonIsPlacedAtItsLineAndColumn) {
  EXPECT_EQ(
      message_of([] { parse_kernel_file("/* kforge:launch\n{\"kernels\": [,]}\n*/", "k.cu"); }),
      "launch plan: unexpected character ',' where a JSON value belongs (k.cu:2:14)");
}

// Each at the value that is wrong, in the words of kforge's candidate parser (the same reader).
TEST(KernelFile, MalformedPlansAreRefusedWithTheReason) {
  const auto plan = [](const std::string& json) {
    return message_of([&] { parse_kernel_file("/* kforge:launch " + json + " */", "p.cu"); });
  };
  EXPECT_EQ(plan("{}"),
            "launch plan: \"kernels\" is missing: list at least one kernel to launch (p.cu:1:18)");
  EXPECT_EQ(plan(R"({"kernels": [{"grid": [1], "block": [1], "args": []}]})"),
            "launch plan: kernel launch lacks \"name\" (p.cu:1:31)");
  EXPECT_EQ(plan(R"({"kernels": [{"name": "k", "grid": [1], "args": []}]})"),
            "launch plan: kernel 'k' lacks \"block\" (p.cu:1:31)");
  EXPECT_EQ(plan(R"({"kernels": [{"name": "k", "grid": [1,1,1,1], "block": [1], "args": []}]})"),
            "launch plan: \"grid\" must be an array of 1 to 3 expressions (p.cu:1:53)");
  EXPECT_EQ(
      plan(
          R"({"kernels": [{"name": "k", "grid": [1], "block": [1], "args": []}], "defines": {"B": {"default": 3, "values": [1, 2]}}})"),
      "launch plan: the default 3 of define 'B' is not one of its \"values\" (p.cu:1:115)");
  EXPECT_EQ(plan(R"({"kernels": [{"name": "k", "grid": [1], "block": [1], "args": [true]}]})"),
            "launch plan: kernel 'k' argument 1 must be an expression in a string, not a boolean "
            "(p.cu:1:81)");
}

// What the runtime's old reader (nlohmann::json) let through: a repeated key (the last won), an
// unknown key (ignored), an integer past 64 bits (wrapped).
TEST(KernelFile, RepeatedUnknownAndOutOfRangeAreRefused) {
  const auto plan = [](const std::string& json) {
    return message_of([&] { parse_kernel_file("/* kforge:launch " + json + " */", "p.cu"); });
  };
  EXPECT_EQ(
      plan(R"({"kernels": [{"name": "k", "grid": [1], "block": [1], "args": []}], "kernels": []})"),
      "launch plan: duplicate key \"kernels\" (p.cu:1:86)");
  EXPECT_EQ(
      plan(R"({"kernels": [{"name": "k", "grid": [1], "block": [1], "args": [], "threads": 2}]})"),
      "launch plan: unknown kernel launch key 'threads' (allowed: name, grid, block, "
      "shared_bytes, args) (p.cu:1:84)");
  EXPECT_EQ(
      plan(
          R"({"kernels": [{"name": "k", "grid": [18446744073709551616], "block": [1], "args": []}]})"),
      "launch plan: kernel 'k' grid[0] must be an expression in a string, not a number "
      "(p.cu:1:54)");
}

TEST(KernelFile, UnreadableFileIsNamed) {
  EXPECT_EQ(message_of([] { read_kernel_file("/nonexistent/kernel.cu"); }),
            "cannot read the kernel file (/nonexistent/kernel.cu)");
}

TEST(Architecture, ParsesNamesAndRefusesOthers) {
  EXPECT_EQ(parse_architecture("sm_90"), 90);
  EXPECT_EQ(parse_architecture("sm_90a"), 90);
  EXPECT_EQ(parse_architecture("100"), 100);
  EXPECT_EQ(message_of([] { parse_architecture("hopper"); }),
            "'hopper' is not a GPU architecture (write it like sm_90)");
  EXPECT_EQ(message_of([] { parse_architecture("sm_"); }),
            "'sm_' is not a GPU architecture (write it like sm_90)");
}

// A library folder: softmax has a seed (no manifest), a variant verified on sm_80 and one on
// sm_90; relu has only a seed.
struct LibraryFixture : ::testing::Test {
  TemporaryDirectory root;
  void add(const std::string& task, const std::string& variant, const std::string& manifest) {
    write_text(root / task / variant / "kernel.cu", kPlanned);
    if (!manifest.empty())
      write_text(root / task / variant / "manifest.json", manifest);
  }
  void SetUp() override {
    add("softmax", "a_seed", "");
    add("softmax", "b_ampere", R"({"architectures": ["sm_80"]})");
    add("softmax", "c_hopper", R"({"architectures": ["sm_90"], "other": 1})");
    add("relu", "vectorized", "");
    write_text(root / "relu" / "notes.txt", "not a variant");
    write_text(root / "relu" / "empty" / "README", "a folder without kernel.cu");
  }
};

TEST_F(LibraryFixture, ListsVariantsSortedWithTheirArchitectures) {
  const Library library = Library::scan(root.path());
  ASSERT_EQ(library.kernels().size(), 4u);
  EXPECT_EQ(library.tasks(), (std::vector<std::string>{"relu", "softmax"}));
  EXPECT_EQ(library.kernels()[0].variant, "vectorized");
  EXPECT_EQ(library.kernels()[1].variant, "a_seed");
  EXPECT_TRUE(library.kernels()[1].verified_architectures.empty());
  EXPECT_EQ(library.kernels()[3].verified_architectures, std::vector<int>{90});
  EXPECT_EQ(library.kernels()[3].source, root / "softmax" / "c_hopper" / "kernel.cu");
}

TEST_F(LibraryFixture, ChoosesVerifiedThenSameFamilyThenUnverified) {
  const Library library = Library::scan(root.path());
  EXPECT_EQ(library.choose("softmax", 90).variant, "c_hopper");
  EXPECT_EQ(library.choose("softmax", 80).variant, "b_ampere");
  EXPECT_EQ(library.choose("softmax", 86).variant, "b_ampere");  // sm_80 family
  EXPECT_EQ(library.choose("softmax", 100).variant, "a_seed");   // nothing verified on Blackwell
  EXPECT_EQ(library.choose("relu", 90).variant, "vectorized");
}

TEST_F(LibraryFixture, UnknownTaskListsTheTasks) {
  const Library library = Library::scan(root.path());
  EXPECT_EQ(message_of([&] { library.choose("sofmax", 90); }),
            "no shipped kernel for task 'sofmax' (there are: relu, softmax) (" +
                root.path().string() + ")");
}

TEST_F(LibraryFixture, TaskWithOnlyOtherArchitecturesIsRefused) {
  write_text(root / "gemm" / "tuned" / "kernel.cu", kPlanned);
  write_text(root / "gemm" / "tuned" / "manifest.json", R"({"architectures": ["sm_90"]})");
  const Library library = Library::scan(root.path());
  EXPECT_EQ(
      message_of([&] { library.choose("gemm", 80); }),
      "no variant of 'gemm' is verified for sm_80 or its family (" + root.path().string() + ")");
}

TEST_F(LibraryFixture, BadManifestsAreNamed) {
  write_text(root / "relu" / "vectorized" / "manifest.json", "{");
  EXPECT_NE(message_of([&] { Library::scan(root.path()); }).find("manifest is not valid JSON"),
            std::string::npos);
  write_text(root / "relu" / "vectorized" / "manifest.json", R"({"architectures": ["volta"]})");
  EXPECT_EQ(message_of([&] { Library::scan(root.path()); }),
            "'volta' is not a GPU architecture (write it like sm_90) (" +
                (root / "relu" / "vectorized" / "manifest.json").string() + ")");
}

TEST(Library, MissingRootIsNamed) {
  EXPECT_EQ(message_of([] { Library::scan("/nonexistent/kernels"); }),
            "the kernel library folder does not exist (/nonexistent/kernels)");
}

TEST(SharedLibrary, MissingLibraryNamesEverythingTried) {
  const std::string message = message_of([] {
    SharedLibrary::open({"libkforge-absent-1.so", "libkforge-absent-2.so"}, "the CUDA driver");
  });
  EXPECT_EQ(message.rfind("cannot open the CUDA driver (tried libkforge-absent-1.so, "
                          "libkforge-absent-2.so) (",
                          0),
            0u)
      << message;
}

TEST(Nvrtc, ReportsItsVersionAndCompilesACubin) {
  const Nvrtc nvrtc = Nvrtc::open();
  EXPECT_GE(nvrtc.version(), 11000);
  const NvrtcOutput output =
      nvrtc.compile("extern \"C\" __global__ void k(float* x) { x[threadIdx.x] = BLOCK; }", "k.cu",
                    80, {"-DBLOCK=3"});
  ASSERT_TRUE(output.succeeded) << output.log;
  // A cubin is an ELF file.
  ASSERT_GE(output.cubin.size(), 4u);
  EXPECT_EQ(std::string(output.cubin.begin(), output.cubin.begin() + 4),
            "\x7f"
            "ELF");
}

TEST(Nvrtc, BadOptionIsAnErrorNamingTheFunction) {
  const Nvrtc nvrtc = Nvrtc::open();
  const std::string message = message_of(
      [&] { nvrtc.compile("__global__ void k() {}", "k.cu", 90, {"--no-such-option"}); });
  EXPECT_EQ(message.rfind("nvrtcCompileProgram failed: ", 0), 0u) << message;
}

TEST(Driver, MissingDriverSaysSo) {
  const std::string message = message_of([] { Driver::open({"libkforge-no-cuda.so.1"}); });
  EXPECT_EQ(message.rfind("cannot open the CUDA driver (is an NVIDIA driver installed?) (tried "
                          "libkforge-no-cuda.so.1) (",
                          0),
            0u)
      << message;
}

}  // namespace
}  // namespace kforge::kernels
