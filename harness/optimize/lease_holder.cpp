#include "harness/optimize/lease_holder.hpp"

#include <chrono>
#include <utility>
#include <vector>

#include "harness/util/error.hpp"

namespace kforge {

LeaseHolder::LeaseHolder(const LeaseTable& table, std::unique_ptr<Store> heartbeat_store,
                         int64_t run_id, std::string node, double lease_seconds,
                         const std::atomic<bool>& stop)
    : table_(table),
      heartbeat_store_(std::move(heartbeat_store)),
      run_id_(run_id),
      node_(std::move(node)),
      lease_seconds_(lease_seconds),
      process_stop_(stop),
      heartbeat_([this] { beat(); }) {}

LeaseHolder::~LeaseHolder() {
  {
    std::lock_guard lock(mutex_);
    finished_ = true;
  }
  wake_.notify_all();
  heartbeat_.join();
}

std::optional<ClaimedLease> LeaseHolder::claim(Store& store) {
  std::optional<ClaimedLease> claim = table_.claim(store, run_id_, node_, lease_seconds_);
  if (claim) {
    std::lock_guard lock(mutex_);
    auto held = std::make_unique<Held>();
    held->claims = claim->claims;
    held_[claim->item] = std::move(held);
  }
  return claim;
}

Store::WriteFence LeaseHolder::fence(int64_t item) {
  int64_t claims = 0;
  {
    std::lock_guard lock(mutex_);
    claims = held_.at(item)->claims;
  }
  return [this, item, claims](Store& store) {
    if (table_.holds(store, run_id_, item, node_, claims))
      return;
    {
      std::lock_guard lock(mutex_);
      if (auto found = held_.find(item); found != held_.end()) {
        found->second->lost = true;
        found->second->stop = true;
      }
    }
    const std::string what(table_.item_name());
    throw LeaseLost("another node took the " + what +
                        " over after this node's lease expired; its writes are refused",
                    what + " " + std::to_string(item) + " of run " + std::to_string(run_id_));
  };
}

const std::atomic<bool>* LeaseHolder::stop_flag(int64_t item) {
  std::lock_guard lock(mutex_);
  return &held_.at(item)->stop;
}

bool LeaseHolder::lost(int64_t item) {
  std::lock_guard lock(mutex_);
  auto found = held_.find(item);
  return found != held_.end() && found->second->lost;
}

bool LeaseHolder::release(Store& store, int64_t item, bool done) {
  {
    std::lock_guard lock(mutex_);
    held_.erase(item);
  }
  return table_.release(store, run_id_, item, node_,
                        done ? LeaseStatus::kDone : LeaseStatus::kOpen);
}

bool LeaseHolder::others_hold_open_items(const Store& store) const {
  for (const Lease& lease : table_.leases_of(store, run_id_)) {
    if (lease.status == LeaseStatus::kOpen && lease.node && *lease.node != node_)
      return true;
  }
  return false;
}

void LeaseHolder::beat() {
  using Clock = std::chrono::steady_clock;
  const auto renew_every = std::chrono::duration<double>(lease_seconds_ / 3);
  auto next_renewal = Clock::now() + std::chrono::duration_cast<Clock::duration>(renew_every);
  std::unique_lock lock(mutex_);
  while (!finished_) {
    wake_.wait_for(lock, std::chrono::milliseconds(100));
    if (finished_)
      return;
    if (process_stop_.load()) {
      for (auto& [item, held] : held_)
        held->stop = true;
    }
    if (Clock::now() < next_renewal)
      continue;
    next_renewal = Clock::now() + std::chrono::duration_cast<Clock::duration>(renew_every);
    // Renewed without the mutex, so that the lanes asking lost() or fencing a write do not wait
    // behind the store's round trips; each item with the claim it was renewed for, so that an
    // item released and claimed again meanwhile is not marked lost for the old claim.
    std::vector<std::pair<int64_t, int64_t>> renewing;
    for (const auto& [item, held] : held_) {
      if (!held->lost)
        renewing.emplace_back(item, held->claims);
    }
    lock.unlock();
    std::vector<std::pair<int64_t, int64_t>> refused;
    for (const auto& [item, claims] : renewing) {
      try {
        if (!table_.renew(*heartbeat_store_, run_id_, item, node_, lease_seconds_))
          refused.emplace_back(item, claims);
      } catch (const Error&) {
        // The store did not answer within its retry limit: the next beat tries again. A lease
        // that expires meanwhile is taken over, and the renewal after that finds it lost.
      }
    }
    lock.lock();
    for (const auto& [item, claims] : refused) {
      if (auto found = held_.find(item); found != held_.end() && found->second->claims == claims) {
        found->second->lost = true;
        found->second->stop = true;
      }
    }
  }
}

}  // namespace kforge
