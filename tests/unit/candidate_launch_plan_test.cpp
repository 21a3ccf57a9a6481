#include "harness/candidate/launch_plan.hpp"

#include <gtest/gtest.h>

#include "harness/candidate/plan_error.hpp"

namespace kforge {
namespace {

nlohmann::json valid_plan() {
  return nlohmann::json::parse(R"json({
    "kernels": [{"name": "k", "grid": ["ceil_div(x.numel, BLOCK)"], "block": ["BLOCK"],
                 "shared_bytes": "BLOCK * 4", "args": ["x", "tmp", "x.numel"]}],
    "scratch": [{"name": "tmp", "dtype": "float32", "numel": "x.numel"}],
    "defines": {"BLOCK": {"default": 256, "values": [128, 256]}}
  })json");
}

// The plan error of reading `json` after `edit` changed the valid plan.
template <typename Edit>
std::string error_after(Edit edit) {
  nlohmann::json json = valid_plan();
  edit(json);
  try {
    LaunchPlan::from_json(json);
  } catch (const PlanError& error) {
    return error.what();
  }
  ADD_FAILURE() << "no error for " << json.dump();
  return "";
}

TEST(CandidateLaunchPlan, StructureErrors) {
  EXPECT_EQ(error_after([](auto& j) { j = nlohmann::json::array(); }),
            "launch plan: the plan must be a JSON object, not an array");
  EXPECT_EQ(error_after([](auto& j) { j.erase("kernels"); }),
            "launch plan: \"kernels\" is missing: list at least one kernel to launch");
  EXPECT_EQ(error_after([](auto& j) { j["kernels"] = nlohmann::json::array(); }),
            "launch plan: \"kernels\" must be a non-empty array of kernel launches");
  EXPECT_EQ(error_after([](auto& j) { j["kernels"][0]["blocks"] = j["kernels"][0]["block"]; }),
            "launch plan: unknown kernel launch key 'blocks'; did you mean 'block'? (allowed: "
            "name, grid, block, shared_bytes, args)");
  EXPECT_EQ(error_after([](auto& j) { j["kernels"][0].erase("name"); }),
            "launch plan: kernel launch lacks \"name\"");
  EXPECT_EQ(error_after([](auto& j) { j["kernels"][0]["name"] = "my kernel"; }),
            "launch plan: \"name\" must be a C identifier in a string");
  EXPECT_EQ(error_after([](auto& j) { j["kernels"][0].erase("grid"); }),
            "launch plan: kernel 'k' lacks \"grid\"");
  EXPECT_EQ(error_after([](auto& j) { j["kernels"][0]["grid"] = "x.numel"; }),
            "launch plan: \"grid\" must be an array of 1 to 3 expressions");
  EXPECT_EQ(error_after([](auto& j) {
              j["kernels"][0]["block"] = {1, 2, 3, 4};
            }),
            "launch plan: \"block\" must be an array of 1 to 3 expressions");
  EXPECT_EQ(error_after([](auto& j) { j["kernels"][0]["grid"] = {1.5}; }),
            "launch plan: kernel 'k' grid[0] must be an expression in a string, not a number");
  EXPECT_EQ(error_after([](auto& j) { j["kernels"][0]["shared_bytes"] = true; }),
            "launch plan: kernel 'k' shared_bytes must be an expression in a string, not a "
            "boolean");
  EXPECT_EQ(error_after([](auto& j) { j["kernels"][0].erase("args"); }),
            "launch plan: kernel 'k' lacks \"args\" (use [] for a kernel without parameters)");
  EXPECT_EQ(error_after([](auto& j) { j["kernels"][0]["args"][2] = "x.numel +"; }),
            "launch plan: kernel 'k' argument 3 \"x.numel +\" at column 10: expression ends "
            "where a value was expected");
}

TEST(CandidateLaunchPlan, ScratchErrors) {
  EXPECT_EQ(error_after([](auto& j) { j["scratch"] = nlohmann::json::object(); }),
            "launch plan: \"scratch\" must be an array of {\"name\", \"dtype\", \"numel\"}");
  EXPECT_EQ(error_after([](auto& j) { j["scratch"][0]["dtype"] = "flaot32"; }),
            "launch plan: unknown dtype 'flaot32'; did you mean 'float32'? (allowed: float64, "
            "float32, float16, bfloat16, int64, int32, int16, int8, uint8, bool)");
  EXPECT_EQ(error_after([](auto& j) { j["scratch"][0].erase("numel"); }),
            "launch plan: scratch buffer 'tmp' lacks \"numel\"");
  EXPECT_EQ(error_after([](auto& j) { j["scratch"][0]["size"] = 4; }),
            "launch plan: unknown scratch key 'size' (allowed: name, dtype, numel)");
  EXPECT_EQ(error_after([](auto& j) { j["scratch"].push_back(j["scratch"][0]); }),
            "launch plan: scratch buffer 'tmp' is declared twice");
  EXPECT_EQ(error_after([](auto& j) { j["scratch"][0]["name"] = "BLOCK"; }),
            "launch plan: scratch buffer 'BLOCK' has the name of a define");
}

TEST(CandidateLaunchPlan, DefineErrors) {
  EXPECT_EQ(error_after([](auto& j) {
              j["defines"] = {1, 2};
            }),
            "launch plan: \"defines\" must be an object {\"NAME\": {\"default\": N, \"values\": "
            "[...]}}");
  EXPECT_EQ(error_after([](auto& j) {
              j["defines"]["2X"] = {{"default", 1}};
            }),
            "launch plan: define name '2X' is not a C identifier");
  EXPECT_EQ(error_after([](auto& j) {
              j["defines"]["min"] = {{"default", 1}};
            }),
            "launch plan: define name 'min' is a function of the expression language");
  EXPECT_EQ(error_after([](auto& j) { j["defines"]["BLOCK"] = 256; }),
            "launch plan: define 'BLOCK' must be an object {\"default\": N, \"values\": [...]}");
  EXPECT_EQ(error_after([](auto& j) { j["defines"]["BLOCK"].erase("default"); }),
            "launch plan: define 'BLOCK' lacks \"default\"");
  EXPECT_EQ(error_after([](auto& j) { j["defines"]["BLOCK"]["default"] = "256"; }),
            "launch plan: the default of define 'BLOCK' must be an integer, not a string");
  EXPECT_EQ(error_after([](auto& j) { j["defines"]["BLOCK"]["default"] = 64; }),
            "launch plan: the default 64 of define 'BLOCK' is not one of its \"values\"");
  EXPECT_EQ(error_after([](auto& j) {
              j["defines"]["BLOCK"]["values"] = {128, 128, 256};
            }),
            "launch plan: define 'BLOCK' lists the value 128 twice");
  EXPECT_EQ(error_after([](auto& j) {
              j["defines"]["BLOCK"]["values"] = {128, 2.5};
            }),
            "launch plan: \"values\" of define 'BLOCK' must hold integers, not a number");
  EXPECT_EQ(error_after([](auto& j) { j["defines"]["BLOCK"]["value"] = {1}; }),
            "launch plan: unknown define key 'value'; did you mean 'values'? (allowed: default, "
            "values)");
}

TEST(CandidateLaunchPlan, DefineValuesAndOptions) {
  LaunchPlan plan = LaunchPlan::from_json(valid_plan());
  try {
    choose_define_values(plan, {{"BLOK", "128"}});
    FAIL();
  } catch (const PlanError& error) {
    EXPECT_EQ(std::string(error.what()),
              "unknown define 'BLOK'; did you mean 'BLOCK'? (allowed: BLOCK)");
  }
  EXPECT_THROW(choose_define_values(plan, {{"BLOCK", "12x"}}), PlanError);
  EXPECT_THROW(choose_define_values(plan, {{"BLOCK", ""}}), PlanError);
  EXPECT_EQ(choose_define_values(plan), (std::map<std::string, int64_t>{{"BLOCK", 256}}));
  EXPECT_EQ(choose_define_values(plan, {{"BLOCK", "-64"}}),
            (std::map<std::string, int64_t>{{"BLOCK", -64}}));
  EXPECT_EQ(define_options({{"BLOCK", 128}, {"A", -1}}),
            (std::vector<std::string>{"-DA=-1", "-DBLOCK=128"}));
}

TEST(CandidateLaunchPlan, DefaultsAndJsonRoundTrip) {
  nlohmann::json minimal = nlohmann::json::parse(
      R"json({"kernels": [{"name": "k", "grid": [64, "2"], "block": [256], "args": []}],
          "defines": {"N": {"default": 3}}})json");
  LaunchPlan plan = LaunchPlan::from_json(minimal);
  EXPECT_EQ(plan.kernels[0].shared_bytes.text(), "0");
  EXPECT_EQ(plan.kernels[0].grid[0].text(), "64");
  EXPECT_EQ(plan.defines[0].values, (std::vector<int64_t>{3}));
  EXPECT_TRUE(plan.scratch.empty());
  EXPECT_EQ(plan.kernels[0].where, "launch plan");

  nlohmann::json stored = LaunchPlan::from_json(valid_plan()).to_json();
  EXPECT_EQ(stored, valid_plan());
  EXPECT_EQ(LaunchPlan::from_json(stored).to_json(), stored);
  EXPECT_EQ(plan.to_json()["kernels"][0]["grid"], nlohmann::json({"64", "2"}));
}

// Constraints: conditions over defines (and tensor sizes, checked at bind), validated when the
// plan is read, stored with it, and checked against chosen define values.
TEST(CandidateLaunchPlan, ConstraintsAreReadCheckedAndStored) {
  nlohmann::json json = valid_plan();
  json["defines"]["VEC"] = {{"default", 4}, {"values", {1, 2, 4, 8}}};
  json["constraints"] = {"BLOCK * VEC <= 1024", "x.shape[0] % VEC == 0 || VEC == 1"};
  LaunchPlan plan = LaunchPlan::from_json(json);
  ASSERT_EQ(plan.constraints.size(), 2u);
  EXPECT_EQ(plan.to_json()["constraints"], json["constraints"]);
  EXPECT_EQ(LaunchPlan::from_json(plan.to_json()).constraints.size(), 2u);
  // A plan without constraints is stored as before: no key.
  EXPECT_FALSE(LaunchPlan::from_json(valid_plan()).to_json().contains("constraints"));

  ExpressionEnvironment environment;
  NamedValue x;
  x.kind = NamedValue::Kind::kTensor;
  x.role = "input";
  x.shape = {12, 5};
  environment.add("x", x);
  auto at = [&](int64_t block, int64_t vec) {
    ExpressionEnvironment values = environment;
    for (auto [name, value] : {std::pair{"BLOCK", block}, std::pair{"VEC", vec}}) {
      NamedValue define;
      define.role = "define";
      define.integer = value;
      values.add(name, define);
    }
    check_constraints(plan, values, {{"BLOCK", block}, {"VEC", vec}});
  };
  EXPECT_NO_THROW(at(256, 4));
  EXPECT_NO_THROW(at(128, 1));
  try {
    at(256, 8);  // 2048 > 1024
    ADD_FAILURE() << "no error";
  } catch (const PlanError& error) {
    EXPECT_EQ(std::string(error.what()),
              "launch plan: constraint 1 \"BLOCK * VEC <= 1024\": does not hold for BLOCK=256, "
              "VEC=8");
  }
  EXPECT_THROW(at(128, 8), PlanError);  // 12 % 8 != 0
}

TEST(CandidateLaunchPlan, MalformedConstraintsAreErrorsWithTheirPosition) {
  auto with = [](nlohmann::json constraints) {
    return error_after([&](auto& j) { j["constraints"] = constraints; });
  };
  EXPECT_EQ(with("BLOCK < 512"),
            "launch plan: \"constraints\" must be an array of conditions in strings");
  EXPECT_EQ(with({512}),
            "launch plan: constraint 1 must be a condition in a string, not an integer");
  EXPECT_NE(with({"BLOK <= 512"}).find("unknown define 'BLOK'; did you mean 'BLOCK'?"),
            std::string::npos)
      << with({"BLOK <= 512"});
  EXPECT_NE(with({"BLOCK <= 512", "BLOCK = 256"})
                .find("constraint 2 \"BLOCK = 256\" at column 7: "
                      "'=' is not an operator; write '=='"),
            std::string::npos)
      << with({"BLOCK <= 512", "BLOCK = 256"});
  EXPECT_NE(with({"BLOCK <= "}).find("expression ends where a value was expected"),
            std::string::npos);
  EXPECT_NE(with({"BLOCK & 1"}).find("write '&&'"), std::string::npos);
  // A condition is no size: a grid with a comparison is refused as before.
  EXPECT_NE(error_after([](auto& j) {
              j["kernels"][0]["grid"] = {"BLOCK < 4"};
            }).find("unexpected '<' after a complete expression"),
            std::string::npos);
}

}  // namespace
}  // namespace kforge
