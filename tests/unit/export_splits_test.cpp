#include "datasets/export/splits.hpp"

#include <gtest/gtest.h>

#include <array>

#include "harness/util/error.hpp"

namespace kforge::dataset {
namespace {

TEST(ExportSplits, RatiosAreParsedAndBadOnesNamed) {
  SplitRatios ratios = SplitRatios::parse("70,15,15");
  EXPECT_EQ(ratios.train, 70);
  EXPECT_EQ(ratios.validation, 15);
  for (const char* bad : {"80,10", "80,10,5", "a,b,c", "-10,60,50", "80,10,10,0"}) {
    try {
      SplitRatios::parse(bad);
      FAIL() << bad;
    } catch (const Error& failure) {
      EXPECT_EQ(failure.where(), "--split");
    }
  }
}

TEST(ExportSplits, ATaskKeepsItsSplitAndRatiosAreHonoured) {
  SplitRatios ratios;
  std::array<int, 3> counts{};
  for (int i = 0; i < 4000; ++i) {
    std::string name = "suite/task_" + std::to_string(i);
    Split split = split_of(name, ratios);
    EXPECT_EQ(split, split_of(name, ratios));
    ++counts[static_cast<int>(split)];
  }
  EXPECT_NEAR(counts[0], 3200, 150);
  EXPECT_NEAR(counts[1], 400, 80);
  EXPECT_NEAR(counts[2], 400, 80);
  // A fixed value: the assignment must never change between kforge versions.
  // (Computed independently: Python's hashlib over "kforge-split:" + name.)
  EXPECT_EQ(split_bucket("builtin/softmax"), 84);
  EXPECT_EQ(split_bucket("kb1/19_ReLU"), 68);
  EXPECT_EQ(split_of("builtin/softmax", ratios), Split::kValidation);
  EXPECT_EQ(split_of("kb1/19_ReLU", ratios), Split::kTrain);
  EXPECT_EQ(split_of("x", {100, 0, 0}), Split::kTrain);
  EXPECT_EQ(split_of("x", {0, 0, 100}), Split::kTest);
}

}  // namespace
}  // namespace kforge::dataset
