#include "harness/candidate/kernel_declarations.hpp"

#include <gtest/gtest.h>

#include "harness/candidate/plan_error.hpp"
#include "harness/util/files.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

std::vector<KernelDeclaration> declarations(const std::string& text) {
  return find_kernel_declarations(SourceText("kernel.cu", text));
}

std::string error_of(const std::string& text) {
  try {
    declarations(text);
  } catch (const PlanError& error) {
    return error.what();
  }
  ADD_FAILURE() << "no error for " << text;
  return "";
}

TEST(CandidateKernelDeclarations, ExternCTemplatesAndUnclosedListsAreErrors) {
  EXPECT_EQ(error_of("template <int N>\nextern \"C\" __global__ void k(float* x) {}\n"),
            "kernel.cu:1:1: kernel 'k' is an extern \"C\" template; C linkage cannot be "
            "templated, so give each instantiation its own extern \"C\" kernel");
  EXPECT_EQ(error_of("extern \"C\" {\ntemplate <typename T> __global__ void k(T* x) {}\n}\n"),
            "kernel.cu:2:1: kernel 'k' is an extern \"C\" template; C linkage cannot be "
            "templated, so give each instantiation its own extern \"C\" kernel");
  EXPECT_EQ(error_of("extern \"C\" __global__ void k(float* x,\n int n"),
            "kernel.cu:1:29: the parameter list of kernel 'k' is not closed");
}

TEST(CandidateKernelDeclarations, ClassifiesTheFixtureKernels) {
  std::string text = files::read(testing::source_dir() / "tests/unit/data/candidate/parameters.cu");
  std::vector<KernelDeclaration> kernels = declarations(text);
  ASSERT_EQ(kernels.size(), 4u);

  const KernelDeclaration& scale = kernels[0];
  EXPECT_EQ(scale.name, "scale_rows");
  EXPECT_TRUE(scale.extern_c);
  EXPECT_EQ(scale.location, "kernel.cu:14:5");
  ASSERT_EQ(scale.parameters.size(), 3u);
  EXPECT_TRUE(scale.parameters[0].pointer);
  EXPECT_EQ(scale.parameters[0].type, "float*");
  EXPECT_EQ(scale.parameters[0].name, "x");
  EXPECT_TRUE(scale.parameters[1].pointer);
  EXPECT_FALSE(scale.parameters[2].pointer);
  EXPECT_EQ(scale.parameters[2].value_type, ScalarType::kInt64);
  EXPECT_EQ(scale.parameters[2].describe(2), "parameter 3 'cols' (long)");

  const KernelDeclaration& every = kernels[1];
  EXPECT_EQ(every.name, "every_type");
  std::vector<std::optional<ScalarType>> expected = {
      ScalarType::kInt32,    ScalarType::kUInt32,  ScalarType::kInt64,   ScalarType::kUInt64,
      ScalarType::kInt16,    ScalarType::kInt8,    ScalarType::kBool,    ScalarType::kFloat16,
      ScalarType::kBFloat16, ScalarType::kFloat64, ScalarType::kFloat32, std::nullopt,
      std::nullopt,          ScalarType::kInt8};
  ASSERT_EQ(every.parameters.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_FALSE(every.parameters[i].pointer) << i;
    EXPECT_EQ(every.parameters[i].value_type, expected[i]) << every.parameters[i].describe(i);
  }
  EXPECT_EQ(every.parameters[11].type, "Pair");
  EXPECT_EQ(every.parameters[11].name, "p");

  EXPECT_EQ(kernels[2].name, "no_parameters");
  EXPECT_TRUE(kernels[2].extern_c);  // inside an extern "C" { } block
  EXPECT_TRUE(kernels[2].parameters.empty());
  EXPECT_EQ(kernels[3].name, "mangled");
  EXPECT_FALSE(kernels[3].extern_c);
}

TEST(CandidateKernelDeclarations, ReadsAwkwardDeclarations) {
  std::vector<KernelDeclaration> kernels = declarations(R"cuda(
#define WRONG extern "C" __global__ void macro_kernel(int a)
// extern "C" __global__ void commented_out(int a) {}
/* extern "C" __global__ void also_commented(int a) {} */
const char* text = "extern \"C\" __global__ void in_a_string(int a)";
extern "C" __global__ void forward(const float*, int);
extern "C"
__global__
void
__launch_bounds__(128, 4)
forward(
    const float* __restrict__ x,  // input
    /* the count */ int n) {}
extern "C" __global__ void sizes(unsigned long long a, long int b, unsigned short c,
                                 signed char d, unsigned char e, std::int64_t f,
                                 const int g, uint32_t h = 4, unsigned i, float x[],
                                 volatile double* const y, void* z, half w, int& r,
                                 long double q) {}
extern "C" __global__ void empty(void) {}
template <typename T> __global__ void generic(T* x) {}
)cuda");
  ASSERT_EQ(kernels.size(), 4u);
  EXPECT_EQ(kernels[0].name, "forward");
  ASSERT_EQ(kernels[0].parameters.size(), 2u);
  EXPECT_TRUE(kernels[0].parameters[0].pointer);
  EXPECT_EQ(kernels[0].parameters[0].name, "");  // the first declaration is kept
  EXPECT_EQ(kernels[0].parameters[1].value_type, ScalarType::kInt32);

  const std::vector<KernelParameter>& p = kernels[1].parameters;
  ASSERT_EQ(p.size(), 15u);
  EXPECT_EQ(p[0].value_type, ScalarType::kUInt64);
  EXPECT_EQ(p[0].type, "unsigned long long");
  EXPECT_EQ(p[1].value_type, ScalarType::kInt64);
  EXPECT_EQ(p[2].value_type, ScalarType::kUInt16);
  EXPECT_EQ(p[3].value_type, ScalarType::kInt8);
  EXPECT_EQ(p[4].value_type, ScalarType::kUInt8);
  EXPECT_EQ(p[5].value_type, ScalarType::kInt64);
  EXPECT_EQ(p[5].type, "std::int64_t");
  EXPECT_EQ(p[6].value_type, ScalarType::kInt32);
  EXPECT_EQ(p[6].name, "g");
  EXPECT_EQ(p[7].value_type, ScalarType::kUInt32);
  EXPECT_EQ(p[7].name, "h");
  EXPECT_EQ(p[8].value_type, ScalarType::kUInt32);
  EXPECT_EQ(p[8].name, "i");
  EXPECT_TRUE(p[9].pointer);  // an array parameter is a pointer
  EXPECT_EQ(p[9].type, "float*");
  EXPECT_TRUE(p[10].pointer);
  EXPECT_TRUE(p[11].pointer);
  EXPECT_EQ(p[12].value_type, ScalarType::kFloat16);
  EXPECT_FALSE(p[13].pointer);  // a reference is nothing a plan can pass
  EXPECT_FALSE(p[13].value_type);
  EXPECT_FALSE(p[14].value_type);

  EXPECT_EQ(kernels[2].name, "empty");
  EXPECT_TRUE(kernels[2].parameters.empty());
  EXPECT_EQ(kernels[3].name, "generic");
  EXPECT_TRUE(kernels[3].template_kernel);
  EXPECT_FALSE(kernels[3].extern_c);
  EXPECT_EQ(find_kernel(kernels, "macro_kernel"), nullptr);
  EXPECT_EQ(find_kernel(kernels, "commented_out"), nullptr);
  EXPECT_EQ(find_kernel(kernels, "in_a_string"), nullptr);
}

TEST(CandidateKernelDeclarations, ScalarTypeTable) {
  EXPECT_EQ(scalar_type_size(ScalarType::kBFloat16), 2u);
  EXPECT_EQ(scalar_type_size(ScalarType::kUInt64), 8u);
  EXPECT_TRUE(scalar_type_is_floating(ScalarType::kFloat16));
  EXPECT_FALSE(scalar_type_is_signed(ScalarType::kUInt32));
  EXPECT_EQ(scalar_type_name(ScalarType::kInt16), "int16");
  EXPECT_EQ(scalar_type_from_name("bfloat16"), ScalarType::kBFloat16);
  EXPECT_FALSE(scalar_type_from_name("float128"));
}

}  // namespace
}  // namespace kforge
