#include "harness/nightly/night_lock.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "tests/support/test_support.hpp"

namespace kforge::nightly {
namespace {

TEST(NightLock, OneHolderAtATimeAndTheRefusalNamesIt) {
  testing::TemporaryDirectory dir;
  const std::filesystem::path store = dir / "kforge.db";
  {
    NightLock held(store);
    EXPECT_EQ(held.path(), dir / "kforge.db.nightly.lock");
    const std::string holder = files::read(held.path());
    EXPECT_EQ(holder.rfind("pid " + std::to_string(::getpid()) + " on ", 0), 0u) << holder;
    try {
      NightLock second(store);
      FAIL() << "a second lock was taken";
    } catch (const Error& failure) {
      const std::string message = failure.what();
      EXPECT_NE(message.find("another kforge nightly is running on this store (pid "),
                std::string::npos)
          << message;
      EXPECT_NE(message.find(held.path().string()), std::string::npos) << message;
    }
  }
  // Released with its holder; a leftover file does not block the next one.
  EXPECT_TRUE(std::filesystem::exists(dir / "kforge.db.nightly.lock"));
  NightLock again(store);
}

TEST(NightLock, AnUnwritableFolderIsAnErrorNamingTheFile) {
  EXPECT_THROW(NightLock("/nonexistent-folder/kforge.db"), Error);
}

}  // namespace
}  // namespace kforge::nightly
