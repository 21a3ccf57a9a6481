#include "harness/optimize/task_leases.hpp"

#include <chrono>

#include "harness/util/error.hpp"

namespace kforge {

TaskLeases::TaskLeases(std::unique_ptr<Store> heartbeat_store, int64_t run_id, std::string node,
                       double lease_seconds, const std::atomic<bool>& stop)
    : heartbeat_store_(std::move(heartbeat_store)),
      run_id_(run_id),
      node_(std::move(node)),
      lease_seconds_(lease_seconds),
      process_stop_(stop),
      heartbeat_([this] { beat(); }) {}

TaskLeases::~TaskLeases() {
  {
    std::lock_guard lock(mutex_);
    finished_ = true;
  }
  wake_.notify_all();
  heartbeat_.join();
}

std::optional<LeaseClaim> TaskLeases::claim(Store& store) {
  std::optional<LeaseClaim> claim = claim_next_lease(store, run_id_, node_, lease_seconds_);
  if (claim) {
    std::lock_guard lock(mutex_);
    auto held = std::make_unique<Held>();
    held->claims = claim->claims;
    held_[claim->task_id] = std::move(held);
  }
  return claim;
}

Store::WriteFence TaskLeases::fence(int64_t task_id) {
  int64_t claims = 0;
  {
    std::lock_guard lock(mutex_);
    claims = held_.at(task_id)->claims;
  }
  return [this, task_id, claims](Store& store) {
    if (kTaskLeases.holds(store, run_id_, task_id, node_, claims))
      return;
    {
      std::lock_guard lock(mutex_);
      if (auto found = held_.find(task_id); found != held_.end()) {
        found->second->lost = true;
        found->second->stop = true;
      }
    }
    throw LeaseLost(
        "another node took the task over after this node's lease expired; its writes "
        "are refused",
        "task " + std::to_string(task_id) + " of run " + std::to_string(run_id_));
  };
}

const std::atomic<bool>* TaskLeases::stop_flag(int64_t task_id) {
  std::lock_guard lock(mutex_);
  return &held_.at(task_id)->stop;
}

bool TaskLeases::lost(int64_t task_id) {
  std::lock_guard lock(mutex_);
  auto found = held_.find(task_id);
  return found != held_.end() && found->second->lost;
}

bool TaskLeases::release(Store& store, int64_t task_id, bool done) {
  {
    std::lock_guard lock(mutex_);
    held_.erase(task_id);
  }
  return release_lease(store, run_id_, task_id, node_, done);
}

bool TaskLeases::others_hold_open_tasks(const Store& store) const {
  for (const LeaseRow& lease : leases_of(store, run_id_)) {
    if (lease.status == LeaseStatus::kOpen && lease.node && *lease.node != node_)
      return true;
  }
  return false;
}

void TaskLeases::beat() {
  using Clock = std::chrono::steady_clock;
  const auto renew_every = std::chrono::duration<double>(lease_seconds_ / 3);
  auto next_renewal = Clock::now() + std::chrono::duration_cast<Clock::duration>(renew_every);
  std::unique_lock lock(mutex_);
  while (!finished_) {
    wake_.wait_for(lock, std::chrono::milliseconds(100));
    if (finished_)
      return;
    if (process_stop_.load()) {
      for (auto& [task_id, held] : held_)
        held->stop = true;
    }
    if (Clock::now() < next_renewal)
      continue;
    next_renewal = Clock::now() + std::chrono::duration_cast<Clock::duration>(renew_every);
    for (auto& [task_id, held] : held_) {
      if (held->lost)
        continue;
      try {
        if (!renew_lease(*heartbeat_store_, run_id_, task_id, node_, lease_seconds_)) {
          held->lost = true;
          held->stop = true;
        }
      } catch (const Error&) {
        // The store did not answer within its retry limit: the next beat tries again. A lease
        // that expires meanwhile is taken over, and the renewal after that finds it lost.
      }
    }
  }
}

}  // namespace kforge
