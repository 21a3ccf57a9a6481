// The GPUs a command evaluates on: one GPU worker per device (gpu.devices), each with the
// reference runner and the store connection its evaluations use, and a scheduler that hands the
// next candidate ready for its GPU stages to the free GPU that has run the fewest (so that work
// spreads over every GPU even when candidates come slower than one GPU judges them). One GPU is
// the same pool with one device.
//
// Timing on a GPU is never disturbed by other work on it: a device is leased to one evaluation
// at a time (its verification, timing, baseline and profile passes together), and the lease
// goes to the candidates waiting in the order they asked. The compile pool stays shared and is
// not part of this.
//
// A device whose worker cannot start costs only its share: the pool is opened with the devices
// that started (the others listed with their reason in `lost()`), and a device whose worker dies
// and cannot be started again during a run is retired, its evaluation given to another device;
// only when no device is left is that an Error.
//
//   GpuPool pool(store.path());
//   pool.add(device, std::move(client), std::move(reference));
//   GpuPool::Lease lease = pool.acquire();   // blocks until a device is free
//   RunStage stage(lease.store(), lease.gpu(), lease.reference(), settings);
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "datasets/store.hpp"

namespace kforge {

class GpuWorkerClient;
class ReferenceRunner;

// A device that left the pool (or never joined it), and why.
struct LostDevice {
  int device = 0;
  std::string reason;
};

class GpuPool {
 private:
  struct Device;

 public:
  // `store_path`: the store each device opens its own connection to, for the caches its
  // evaluations read and write (device measurements, baselines), so that devices never share a
  // connection with each other or with the thread that stores candidates. `store_options`: how
  // they open it (a command passes the workspace's store.retry_s, as every other connection has).
  explicit GpuPool(std::filesystem::path store_path,
                   StoreOptions store_options = {.create = false});
  ~GpuPool();
  GpuPool(const GpuPool&) = delete;
  GpuPool& operator=(const GpuPool&) = delete;

  // Adds a device whose worker has started. The pool owns the worker and the reference runner.
  void add(int device, std::unique_ptr<GpuWorkerClient> gpu,
           std::unique_ptr<ReferenceRunner> reference);
  // Adds a device whose worker and reference runner the caller owns (they outlive the pool).
  void add_borrowed(int device, GpuWorkerClient& gpu, ReferenceRunner& reference);
  // Records a device that did not join (its worker did not start).
  void add_lost(int device, std::string reason);

  // One device, held by one evaluation; released when destroyed.
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    ~Lease();

    int device() const;
    GpuWorkerClient& gpu() const;
    ReferenceRunner& reference() const;
    // The device's own store connection (opened on first use).
    Store& store() const;

   private:
    friend class GpuPool;
    Lease(GpuPool* pool, Device* device) : pool_(pool), device_(device) {}
    GpuPool* pool_;
    Device* device_;
  };

  // Waits for a free device and leases it; first come, first served. Throws Error when every
  // device has been lost.
  Lease acquire();
  // Takes `lease`'s device out of the pool for good (its worker cannot start again): the
  // evaluations waiting go to the others.
  void retire(Lease& lease, std::string reason);

  // Devices in the pool now, and in all (including those lost).
  size_t size() const;
  // The first device's worker, for what the GPU looks like (name, architecture); none when the
  // pool is empty.
  GpuWorkerClient* first() const;
  std::vector<LostDevice> lost() const;
  // Evaluations each device has run (by device ordinal, in the order the devices were added).
  std::vector<std::pair<int, int64_t>> evaluations() const;
  // How each device opens its store connection.
  const StoreOptions& store_options() const { return store_options_; }

 private:
  void release(Device* device);

  std::filesystem::path store_path_;
  StoreOptions store_options_;
  mutable std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<Device>> devices_;
  std::vector<LostDevice> lost_;
  std::deque<uint64_t> waiting_;  // tickets of the callers waiting, first come first
  uint64_t next_ticket_ = 0;
};

}  // namespace kforge
