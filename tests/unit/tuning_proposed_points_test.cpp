// Points proposed from outside the search, checked against a space: every way a proposal can
// miss the space is dropped with a reason naming the define, value or constraint at fault; the
// points that are in it are accepted once each, in the order proposed, up to the limit.
#include "harness/tuning/proposed_points.hpp"

#include <gtest/gtest.h>

namespace kforge::tuning {
namespace {

using nlohmann::json;

// BLOCK in {32, 64, 128, 256}, ITEMS in {1, 2, 4}, BLOCK * ITEMS <= 256.
ConstrainedSpace tiled_space() {
  std::vector<Parameter> parameters = {{"BLOCK", {32, 64, 128, 256}}, {"ITEMS", {1, 2, 4}}};
  Restriction product{"constraint 1 \"BLOCK * ITEMS <= 256\"", {0, 1}, [](const Point& point) {
                        const int64_t blocks[] = {32, 64, 128, 256};
                        const int64_t items[] = {1, 2, 4};
                        return blocks[point[0]] * items[point[1]] <= 256;
                      }};
  return ConstrainedSpace(std::move(parameters), {product});
}

std::string reason_of(const CheckedProposal& checked, size_t index) {
  for (const DroppedPoint& dropped : checked.dropped)
    if (dropped.index == index)
      return dropped.reason;
  return "(not dropped)";
}

TEST(TuningProposedPoints, PointsInTheSpaceAreAcceptedInTheOrderProposed) {
  ConstrainedSpace declared = tiled_space();
  TuningSpace searched = declared.materialise(100, 0);
  json proposed = json::parse(R"([{"BLOCK": 128, "ITEMS": 2}, {"ITEMS": 1, "BLOCK": 32},
                                  {"BLOCK": 256.0, "ITEMS": 1}])");
  CheckedProposal checked = check_proposed_points(declared, searched, proposed, 5, "define");
  EXPECT_TRUE(checked.dropped.empty()) << checked.dropped.front().reason;
  ASSERT_EQ(checked.accepted.size(), 3u);
  EXPECT_EQ(searched.describe(checked.accepted[0]), json::parse(R"({"BLOCK": 128, "ITEMS": 2})"));
  EXPECT_EQ(searched.describe(checked.accepted[1]), json::parse(R"({"BLOCK": 32, "ITEMS": 1})"));
  // A number is its value however it is written.
  EXPECT_EQ(searched.describe(checked.accepted[2]), json::parse(R"({"BLOCK": 256, "ITEMS": 1})"));
}

TEST(TuningProposedPoints, EveryPointOutsideTheSpaceIsDroppedWithItsReason) {
  ConstrainedSpace declared = tiled_space();
  TuningSpace searched = declared.materialise(100, 0);
  json proposed = json::parse(R"([
      {"BLOCK": 96, "ITEMS": 1},
      {"BLOK": 64, "ITEMS": 1},
      {"BLOCK": 256, "ITEMS": 4},
      {"BLOCK": 64},
      "fast",
      {"BLOCK": "64", "ITEMS": 1},
      {"BLOCK": 64, "ITEMS": 2},
      {"ITEMS": 2, "BLOCK": 64},
      {"BLOCK": 32, "ITEMS": 1},
      {"BLOCK": 32, "ITEMS": 2}])");
  CheckedProposal checked = check_proposed_points(declared, searched, proposed, 9, "define");
  ASSERT_EQ(checked.accepted.size(), 2u);
  EXPECT_EQ(searched.describe(checked.accepted[0]), json::parse(R"({"BLOCK": 64, "ITEMS": 2})"));
  EXPECT_EQ(searched.describe(checked.accepted[1]), json::parse(R"({"BLOCK": 32, "ITEMS": 1})"));
  ASSERT_EQ(checked.dropped.size(), 8u);
  EXPECT_EQ(reason_of(checked, 0), "define BLOCK = 96 is not one of its values (32, 64, 128, 256)");
  EXPECT_EQ(reason_of(checked, 1),
            "unknown define 'BLOK'; did you mean 'BLOCK'? (allowed: BLOCK, ITEMS)");
  EXPECT_EQ(reason_of(checked, 2), "breaks constraint 1 \"BLOCK * ITEMS <= 256\"");
  EXPECT_EQ(reason_of(checked, 3), "gives no value for define ITEMS");
  EXPECT_EQ(reason_of(checked, 4), "not an object giving each define a value");
  EXPECT_EQ(reason_of(checked, 5),
            "define BLOCK = \"64\" is not one of its values (32, 64, 128, 256)");
  EXPECT_EQ(reason_of(checked, 7), "the same point as point 7 of the proposal");
  // The entry past the limit of 9.
  EXPECT_EQ(reason_of(checked, 9), "beyond the 9 points asked for");
  EXPECT_EQ(checked.dropped.back().point, R"({"BLOCK":32,"ITEMS":2})");
  // Each dropped entry shows the point as proposed.
  EXPECT_EQ(checked.dropped.front().point, R"({"BLOCK":96,"ITEMS":1})");
}

TEST(TuningProposedPoints, AValidPointOutsideTheSampleSearchedIsDropped) {
  ConstrainedSpace declared = tiled_space();
  // Three of the valid points only: a sample of the space.
  TuningSpace searched = declared.materialise(3, 7);
  ASSERT_EQ(searched.size(), 3u);
  json proposed = json::array();
  for (PointId id = 0; id < 3; ++id)
    proposed.push_back(searched.describe(id));
  declared.enumerate([&](const Point& point) {
    if (!searched.find(point)) {
      json missing = json::object();
      missing["BLOCK"] = declared.parameters()[0].values[point[0]];
      missing["ITEMS"] = declared.parameters()[1].values[point[1]];
      proposed.push_back(missing);
      return false;
    }
    return true;
  });
  ASSERT_EQ(proposed.size(), 4u);
  CheckedProposal checked = check_proposed_points(declared, searched, proposed, 10);
  EXPECT_EQ(checked.accepted, (std::vector<PointId>{0, 1, 2}));
  ASSERT_EQ(checked.dropped.size(), 1u);
  EXPECT_EQ(checked.dropped[0].reason,
            "valid, but not among the 3 points searched (a sample of a larger space)");
}

TEST(TuningProposedPoints, AnythingButAListIsOneDroppedEntryAndHugeValuesAreCut) {
  ConstrainedSpace declared = tiled_space();
  TuningSpace searched = declared.materialise(100, 0);
  CheckedProposal object =
      check_proposed_points(declared, searched, json::parse(R"({"BLOCK": 64})"), 4);
  EXPECT_TRUE(object.accepted.empty());
  ASSERT_EQ(object.dropped.size(), 1u);
  EXPECT_EQ(object.dropped[0].reason, "not a list of points");

  // Entries past the limit are one dropped entry, however many.
  json many = json::parse(R"([{"BLOCK": 32, "ITEMS": 1}, {"BLOCK": 32, "ITEMS": 2},
                              {"BLOCK": 64, "ITEMS": 1}, {"BLOCK": 64, "ITEMS": 2},
                              {"BLOCK": 128, "ITEMS": 1}])");
  CheckedProposal limited = check_proposed_points(declared, searched, many, 2);
  EXPECT_EQ(limited.accepted.size(), 2u);
  ASSERT_EQ(limited.dropped.size(), 1u);
  EXPECT_EQ(limited.dropped[0].index, 2u);
  EXPECT_EQ(limited.dropped[0].point, "(3 points)");
  EXPECT_EQ(limited.dropped[0].reason, "beyond the 2 points asked for");

  json huge = json::array({{{"BLOCK", std::string(100000, '9')}, {"ITEMS", 1}}});
  CheckedProposal cut = check_proposed_points(declared, searched, huge, 4);
  ASSERT_EQ(cut.dropped.size(), 1u);
  EXPECT_LT(cut.dropped[0].point.size(), 300u);
  EXPECT_LT(cut.dropped[0].reason.size(), 200u);
  EXPECT_NE(cut.dropped[0].reason.find("parameter BLOCK = \"999"), std::string::npos)
      << cut.dropped[0].reason;
  // A name with a control character is shown on one line.
  CheckedProposal named = check_proposed_points(
      declared, searched, json::array({{{"BL\nOCK", 64}, {"ITEMS", 1}}}), 4, "define");
  ASSERT_EQ(named.dropped.size(), 1u);
  EXPECT_EQ(named.dropped[0].reason.find('\n'), std::string::npos) << named.dropped[0].reason;
  EXPECT_EQ(named.dropped[0].reason.rfind("unknown define 'BL", 0), 0u) << named.dropped[0].reason;
}

}  // namespace
}  // namespace kforge::tuning
