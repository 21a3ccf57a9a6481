// What the nodes of one night share in the store, on both backends: a step's checkpoint that
// several connections change at once (update_night_step_state: no connection's entries are lost),
// and the one-nightly lock of a PostgreSQL store (its advisory lock, held by a connection and
// dropped with it; a SQLite store's lock is the file NightLock flocks, night_lock_test.cpp).
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "datasets/night_records.hpp"
#include "harness/nightly/night_lock.hpp"
#include "harness/util/error.hpp"
#include "tests/support/store_backends.hpp"

namespace kforge {
namespace {

class NightSharing : public testing::OnEachBackend {};
KFORGE_ON_EACH_BACKEND(NightSharing);

TEST_P(NightSharing, ConnectionsChangingOneStepLoseNoEntry) {
  std::unique_ptr<Store> store = open_store();
  const int64_t night = insert_night(*store, {.name = "n"});
  store_night_step(*store, {.night_id = night, .name = "optimize", .state = {{"tasks", {}}}});
  constexpr int kConnections = 4;
  constexpr int kEntries = 10;
  std::vector<std::unique_ptr<Store>> connections;
  for (int index = 0; index < kConnections; ++index)
    connections.push_back(open_store(/*create=*/false));
  std::vector<std::thread> threads;
  for (int index = 0; index < kConnections; ++index)
    threads.emplace_back([&, index] {
      for (int entry = 0; entry < kEntries; ++entry)
        update_night_step_state(*connections[index], night, "optimize", [&](nlohmann::json& state) {
          state["tasks"]["c" + std::to_string(index) + "e" + std::to_string(entry)] = entry;
        });
    });
  for (std::thread& thread : threads)
    thread.join();
  const NightStepRow step = *find_night_step(*store, night, "optimize");
  EXPECT_EQ(step.state["tasks"].size(), static_cast<size_t>(kConnections * kEntries));
  EXPECT_EQ(step.state["tasks"]["c3e9"], 9);
  // What the change returns is what the store holds; an unknown step is an error.
  const nlohmann::json state = update_night_step_state(
      *store, night, "optimize", [](nlohmann::json& state) { state["leased"] = true; });
  EXPECT_EQ(state, find_night_step(*store, night, "optimize")->state);
  EXPECT_THROW(update_night_step_state(*store, night, "tune", [](nlohmann::json&) {}), Error);
}

TEST_P(NightSharing, OneNightlyPerStoreAndTheLockGoesWithItsConnection) {
  if (!postgres())
    GTEST_SKIP() << "a SQLite store's lock is a file: night_lock_test.cpp";
  std::unique_ptr<Store> first = open_store();
  insert_night(*first, {.name = "n", .pid = 4242, .host = "gpu7"});
  std::unique_ptr<Store> second = open_store(/*create=*/false);
  {
    nightly::NightLock held(*first, location());
    try {
      nightly::NightLock refused(*second, location());
      FAIL() << "a second nightly took the lock";
    } catch (const Error& failure) {
      const std::string message = failure.what();
      EXPECT_NE(message.find("another kforge nightly is running on this store (night n, pid 4242 "
                             "on gpu7)"),
                std::string::npos)
          << message;
    }
  }
  // Released with its holder; and when a holder's connection ends (a killed process), with it.
  auto third = std::make_unique<nightly::NightLock>(*second, location());
  third.reset();
  EXPECT_TRUE(try_lock_nightly(*first));
  first.reset();  // the connection ends with the lock still held
  // The server ends the connection's backend, and drops its locks, a moment after it closed.
  bool taken = false;
  for (int attempt = 0; attempt < 100 && !taken; ++attempt) {
    taken = try_lock_nightly(*second);
    if (!taken)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(taken);
}

}  // namespace
}  // namespace kforge
