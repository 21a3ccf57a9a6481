// Where the optimize loop's helper threads hand in what they finished: the LLM requests' threads
// push answers and the prepare threads push compiled candidates, and the loop thread blocks
// until something arrives (or a display refresh is due), instead of polling futures.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <vector>

namespace kforge {

template <typename Item>
class CompletionQueue {
 public:
  // Called from any thread.
  void push(Item item) {
    {
      std::lock_guard lock(mutex_);
      items_.push_back(std::move(item));
    }
    arrived_.notify_one();
  }

  // Everything pushed so far, oldest first, waiting up to `timeout` for the first item; empty
  // when nothing arrived in that time.
  std::vector<Item> take_all(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    arrived_.wait_for(lock, timeout, [this] { return !items_.empty(); });
    std::vector<Item> taken;
    taken.reserve(items_.size());
    for (Item& item : items_)
      taken.push_back(std::move(item));
    items_.clear();
    return taken;
  }

 private:
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::deque<Item> items_;
};

}  // namespace kforge
