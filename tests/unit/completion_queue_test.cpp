// The optimize loop's completion queue: items pushed from other threads arrive at once, in
// order, each exactly once, and a wait with nothing pushed ends at its timeout.
#include "harness/optimize/completion_queue.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace kforge {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

TEST(CompletionQueue, APushWakesTheWaiterBeforeItsTimeout) {
  CompletionQueue<int> queue;
  auto started = Clock::now();
  std::thread pusher([&] {
    std::this_thread::sleep_for(milliseconds(50));
    queue.push(7);
  });
  std::vector<int> taken = queue.take_all(std::chrono::seconds(30));
  auto waited = Clock::now() - started;
  pusher.join();
  EXPECT_EQ(taken, std::vector<int>{7});
  EXPECT_GE(waited, milliseconds(50));
  EXPECT_LT(waited, std::chrono::seconds(10));  // woken, not timed out
}

TEST(CompletionQueue, NothingPushedEndsTheWaitAtTheTimeout) {
  CompletionQueue<int> queue;
  auto started = Clock::now();
  EXPECT_TRUE(queue.take_all(milliseconds(100)).empty());
  EXPECT_GE(Clock::now() - started, milliseconds(100));
}

TEST(CompletionQueue, EverythingWaitingIsTakenAtOnceOldestFirst) {
  CompletionQueue<std::string> queue;
  queue.push("a");
  queue.push("b");
  queue.push("c");
  EXPECT_EQ(queue.take_all(milliseconds(0)), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(queue.take_all(milliseconds(0)).empty());
}

TEST(CompletionQueue, ManyProducersLoseAndRepeatNothing) {
  CompletionQueue<int> queue;
  constexpr int kThreads = 8, kEach = 200;
  std::vector<std::thread> producers;
  for (int t = 0; t < kThreads; ++t) {
    producers.emplace_back([&queue, t] {
      for (int i = 0; i < kEach; ++i)
        queue.push(t * kEach + i);
    });
  }
  std::multiset<int> seen;
  while (seen.size() < kThreads * kEach) {
    std::vector<int> taken = queue.take_all(std::chrono::seconds(30));
    ASSERT_FALSE(taken.empty()) << "a push was lost";
    seen.insert(taken.begin(), taken.end());
  }
  for (std::thread& producer : producers)
    producer.join();
  EXPECT_TRUE(queue.take_all(milliseconds(0)).empty());
  EXPECT_EQ(seen.size(), static_cast<size_t>(kThreads * kEach));
  for (int value = 0; value < kThreads * kEach; ++value)
    EXPECT_EQ(seen.count(value), 1u) << value;
}

}  // namespace
}  // namespace kforge
