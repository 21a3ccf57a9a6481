// The leases one node holds in a run that several nodes share (`kforge optimize --join RUN`,
// `kforge nightly --join NIGHT`): of the run's tasks, or of a replay run's candidate slots, one
// table of leases each (datasets/lease_table.hpp: kTaskLeases, kSlotLeases). Items are claimed
// through the table and kept alive by a heartbeat: a thread of its own, with its own store
// connection, that renews every held lease each third of the lease time. A lease the heartbeat
// finds taken over (this node stalled past its expiry and another node took the item) is lost:
// the item's stop flag is set, so that its work stops asking and ends as soon as what is in
// flight is settled. The same flag is set when the whole process is asked to stop (Ctrl-C),
// which the work would otherwise watch itself.
//
// A stalled node may wake after the takeover with candidates in flight, before its heartbeat
// tells it so: an item's writes are fenced (fence(), Store::FencedWrites), so that each write
// transaction first checks, inside it, that this node's claim is still the lease's latest; once
// it is not, the transaction is refused with LeaseLost and nothing of it is stored, and the item
// is marked lost and stopped. What the new holder stores is never stored twice or overwritten.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "datasets/lease_table.hpp"

namespace kforge {

class LeaseHolder {
 public:
  // `table`: the leases held (kTaskLeases or kSlotLeases); `heartbeat_store` is the heartbeat
  // thread's own connection; `stop` the process's stop flag.
  LeaseHolder(const LeaseTable& table, std::unique_ptr<Store> heartbeat_store, int64_t run_id,
              std::string node, double lease_seconds, const std::atomic<bool>& stop);
  ~LeaseHolder();
  LeaseHolder(const LeaseHolder&) = delete;
  LeaseHolder& operator=(const LeaseHolder&) = delete;

  // Claims the next free or expired item of the run through `store` (the calling thread's
  // connection); nullopt when none can be claimed now.
  std::optional<ClaimedLease> claim(Store& store);
  // The fence of a claimed item's writes, for Store::FencedWrites on the connection its work
  // writes through: a transaction is refused with LeaseLost (and the item marked lost and
  // stopped) once another claim than this node's took the item's lease.
  Store::WriteFence fence(int64_t item);
  // What the work on a claimed item watches: set once the lease is lost or stop is asked.
  const std::atomic<bool>* stop_flag(int64_t item);
  // True once the heartbeat or the fence found the lease taken over by another node.
  bool lost(int64_t item);
  // Gives the item's lease up (done, or free for another node) and stops renewing it. False
  // when this node no longer held it.
  bool release(Store& store, int64_t item, bool done);
  // True while another node holds an open item of the run: it works on it, or its lease may
  // yet expire, so that this node would take the item over.
  bool others_hold_open_items(const Store& store) const;

  double lease_seconds() const { return lease_seconds_; }

 private:
  struct Held {
    int64_t claims = 0;  // the lease's claim count of this node's claim: its fencing token
    std::atomic<bool> stop{false};
    bool lost = false;
  };
  void beat();

  const LeaseTable& table_;
  std::unique_ptr<Store> heartbeat_store_;
  int64_t run_id_;
  std::string node_;
  double lease_seconds_;
  const std::atomic<bool>& process_stop_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool finished_ = false;
  std::map<int64_t, std::unique_ptr<Held>> held_;
  std::thread heartbeat_;
};

}  // namespace kforge
