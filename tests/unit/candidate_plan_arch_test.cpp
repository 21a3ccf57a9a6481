// The launch plan's "arch": architecture-specific targets (sm_90a, sm_100a, sm_100f) and the
// choice of what to compile for on a target GPU (harness/candidate/launch_plan).
#include <gtest/gtest.h>

#include "harness/candidate/candidate_file.hpp"
#include "harness/candidate/launch_plan.hpp"
#include "harness/candidate/plan_error.hpp"

namespace kforge {
namespace {

LaunchPlan plan_with_arch(const nlohmann::json& arch) {
  nlohmann::json json = nlohmann::json::parse(R"json({
    "kernels": [{"name": "k", "grid": [1], "block": [32], "args": []}]})json");
  json["arch"] = arch;
  return LaunchPlan::from_json(json);
}

std::string arch_error(const nlohmann::json& arch) {
  try {
    plan_with_arch(arch);
  } catch (const PlanError& error) {
    return error.what();
  }
  ADD_FAILURE() << "no error for \"arch\": " << arch.dump();
  return "";
}

std::string choice_error(const nlohmann::json& arch, const std::string& gpu) {
  try {
    choose_compile_arch(plan_with_arch(arch), gpu);
  } catch (const PlanError& error) {
    return error.what();
  }
  ADD_FAILURE() << "no error for " << arch.dump() << " on " << gpu;
  return "";
}

TEST(CandidatePlanArch, ValidTargetsAreKeptAndStored) {
  EXPECT_EQ(plan_with_arch("sm_90a").arch, std::vector<std::string>{"sm_90a"});
  EXPECT_EQ(plan_with_arch({"sm_90a", "sm_100a", "sm_100f", "sm_120a"}).arch,
            (std::vector<std::string>{"sm_90a", "sm_100a", "sm_100f", "sm_120a"}));
  LaunchPlan plan = plan_with_arch({"sm_90a", "sm_100a"});
  nlohmann::json stored = plan.to_json();
  EXPECT_EQ(stored["arch"], nlohmann::json({"sm_90a", "sm_100a"}));
  EXPECT_EQ(LaunchPlan::from_json(stored).arch, plan.arch);
  // A plan without it is stored as it always was.
  nlohmann::json plain = nlohmann::json::parse(
      R"json({"kernels": [{"name": "k", "grid": [1], "block": [32], "args": []}]})json");
  EXPECT_FALSE(LaunchPlan::from_json(plain).to_json().contains("arch"));
}

TEST(CandidatePlanArch, InvalidTargetsArePlanErrors) {
  const std::string rule =
      "\"arch\" must be an architecture-specific target such as \"sm_90a\" (wgmma, TMA) or "
      "\"sm_100a\" (tcgen05), a family target such as \"sm_100f\", or a list of them";
  EXPECT_EQ(arch_error(90), "launch plan: " + rule);
  EXPECT_EQ(arch_error(nlohmann::json::array()), "launch plan: " + rule);
  EXPECT_EQ(arch_error(nlohmann::json::object()), "launch plan: " + rule);
  EXPECT_EQ(arch_error({"sm_90a", 100}), "launch plan: " + rule + ", not an integer");
  for (const char* bad : {"sm_9a", "sm_1000a", "compute_90a", "sm90a", "SM_90A", "sm_90b",
                          "sm_90a ", "sm_090a", "sm_a", ""})
    EXPECT_EQ(arch_error(bad), "launch plan: '" + std::string(bad) + "' is not a target: " + rule)
        << bad;
  EXPECT_EQ(arch_error("sm_90"),
            "launch plan: 'sm_90' is not a target: " + rule +
                " (a plain target needs no \"arch\": every candidate is compiled for the GPU's "
                "own sm_XY)");
  EXPECT_EQ(arch_error({"sm_90a", "sm_90a"}), "launch plan: \"arch\" lists 'sm_90a' twice");
}

TEST(CandidatePlanArch, TheTargetThatRunsOnTheGpuIsCompiled) {
  LaunchPlan none = plan_with_arch("sm_90a");
  none.arch.clear();
  EXPECT_EQ(choose_compile_arch(none, "sm_90"), "sm_90");
  EXPECT_EQ(choose_compile_arch(plan_with_arch("sm_90a"), "sm_90"), "sm_90a");
  EXPECT_EQ(choose_compile_arch(plan_with_arch({"sm_90a", "sm_100a"}), "sm_100"), "sm_100a");
  EXPECT_EQ(choose_compile_arch(plan_with_arch("sm_100f"), "sm_103"), "sm_100f");
  EXPECT_EQ(choose_compile_arch(plan_with_arch("sm_100f"), "sm_100"), "sm_100f");
  EXPECT_EQ(choose_compile_arch(plan_with_arch({"sm_100f", "sm_103a"}), "sm_103"), "sm_100f");
  EXPECT_EQ(choose_compile_arch(plan_with_arch("sm_90a"), "sm_90a"), "sm_90a");
}

TEST(CandidatePlanArch, ATargetForAnotherGpuIsAPlanError) {
  EXPECT_EQ(choice_error("sm_90a", "sm_100"),
            "launch plan: \"arch\" asks for sm_90a, architecture-specific code that runs only on "
            "the GPU it names, and this evaluation targets sm_100 (compute capability 10.0); "
            "leave \"arch\" out to compile for sm_100, or list a target for it");
  EXPECT_NE(choice_error("sm_100a", "sm_103").find("asks for sm_100a"), std::string::npos);
  EXPECT_NE(choice_error("sm_103f", "sm_100").find("targets sm_100"), std::string::npos);
  EXPECT_NE(choice_error({"sm_90a", "sm_100a"}, "sm_89").find("asks for sm_90a, sm_100a"),
            std::string::npos);
  EXPECT_NE(choice_error("sm_90a", "sm_80").find("compute capability 8.0"), std::string::npos);
}

TEST(CandidatePlanArch, ErrorsNameTheFilePositionOfTheArch) {
  const std::string source =
      "/* kforge:launch\n{\"kernels\": [{\"name\": \"k\", \"grid\": [1], \"block\": [1], "
      "\"args\": []}],\n \"arch\": \"sm_90a\"} */\nextern \"C\" __global__ void k() {}\n";
  PlanResult<CandidateFile> parsed = parse_candidate(source, "kernel.cu");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  try {
    choose_compile_arch(parsed.value().plan, "sm_100");
    FAIL() << "no error";
  } catch (const PlanError& error) {
    EXPECT_EQ(std::string(error.what())
                  .rfind("kernel.cu:3:10: launch plan: \"arch\" asks for "
                         "sm_90a",
                         0),
              0u)
        << error.what();
  }
  PlanResult<CandidateFile> bad = parse_candidate(
      "/* kforge:launch\n{\"kernels\": [{\"name\": \"k\", \"grid\": [1], \"block\": [1], "
      "\"args\": []}],\n \"arch\": [\"sm_90a\", \"sm_90\"]} */\n",
      "kernel.cu");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message().rfind("kernel.cu:3:21: launch plan: 'sm_90' is not a target", 0),
            0u)
      << bad.error().message();
}

}  // namespace
}  // namespace kforge
