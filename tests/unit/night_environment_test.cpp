#include "harness/nightly/night_environment.hpp"

#include <gtest/gtest.h>

namespace kforge::nightly {
namespace {

TEST(NightEnvironment, ChangesListEveryKeyWithItsValueBefore) {
  const nlohmann::json before = {{"gpu", "H100"}, {"driver", "580.1"}, {"torch", "2.5.1"}};
  const nlohmann::json after = {{"gpu", "H100"},    {"driver", "580.2"}, {"cuda", "13000"},
                                {"nvrtc", "13.0"},  {"torch", "2.5.1"},  {"kforge", "0.1"},
                                {"torch_note", "x"}};
  const std::vector<EnvironmentChange> changes = environment_changes(before, after);
  ASSERT_EQ(changes.size(), environment_keys().size());
  EXPECT_EQ(changes[0].key, "gpu");
  EXPECT_EQ(changes[0].before, changes[0].after);
  EXPECT_EQ(changes[1].key, "driver");
  EXPECT_EQ(changes[1].before, "580.1");
  EXPECT_EQ(changes[1].after, "580.2");
  EXPECT_EQ(changes[2].key, "cuda");
  EXPECT_EQ(changes[2].before, "");  // new since the last night
  EXPECT_EQ(changes[2].after, "13000");
  // No earlier night: every key is new.
  for (const EnvironmentChange& change : environment_changes(nlohmann::json::object(), after))
    EXPECT_EQ(change.before, "") << change.key;
}

}  // namespace
}  // namespace kforge::nightly
