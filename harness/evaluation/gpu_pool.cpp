#include "harness/evaluation/gpu_pool.hpp"

#include <algorithm>

#include "datasets/store.hpp"
#include "harness/reference_runner.hpp"
#include "harness/util/error.hpp"
#include "sandbox/gpu_worker_client.hpp"

namespace kforge {

struct GpuPool::Device {
  int index = 0;
  std::unique_ptr<GpuWorkerClient> owned_gpu;
  std::unique_ptr<ReferenceRunner> owned_reference;
  GpuWorkerClient* gpu = nullptr;
  ReferenceRunner* reference = nullptr;
  std::unique_ptr<Store> store;  // opened by the first lease, on the leasing thread
  bool busy = false;
  bool retired = false;
  int64_t evaluations = 0;
};

GpuPool::GpuPool(std::filesystem::path store_path, StoreOptions store_options)
    : store_path_(std::move(store_path)), store_options_(store_options) {}

GpuPool::~GpuPool() = default;

void GpuPool::add(int device, std::unique_ptr<GpuWorkerClient> gpu,
                  std::unique_ptr<ReferenceRunner> reference) {
  auto added = std::make_unique<Device>();
  added->index = device;
  added->gpu = gpu.get();
  added->reference = reference.get();
  added->owned_gpu = std::move(gpu);
  added->owned_reference = std::move(reference);
  std::lock_guard lock(mutex_);
  devices_.push_back(std::move(added));
}

void GpuPool::add_borrowed(int device, GpuWorkerClient& gpu, ReferenceRunner& reference) {
  auto added = std::make_unique<Device>();
  added->index = device;
  added->gpu = &gpu;
  added->reference = &reference;
  std::lock_guard lock(mutex_);
  devices_.push_back(std::move(added));
}

void GpuPool::add_lost(int device, std::string reason) {
  std::lock_guard lock(mutex_);
  lost_.push_back({device, std::move(reason)});
}

GpuPool::Lease GpuPool::acquire() {
  std::unique_lock lock(mutex_);
  uint64_t ticket = next_ticket_++;
  waiting_.push_back(ticket);
  Device* chosen = nullptr;
  auto live = [this] {
    return std::any_of(devices_.begin(), devices_.end(),
                       [](const auto& device) { return !device->retired; });
  };
  freed_.wait(lock, [&] {
    if (!live())
      return true;
    if (waiting_.front() != ticket)
      return false;
    // Of the free devices, the one that has run the fewest evaluations: when candidates come
    // slower than a device judges them, the work still spreads over every GPU rather than
    // all going to the first.
    chosen = nullptr;
    for (const auto& device : devices_) {
      if (!device->busy && !device->retired &&
          (chosen == nullptr || device->evaluations < chosen->evaluations))
        chosen = device.get();
    }
    return chosen != nullptr;
  });
  waiting_.erase(std::find(waiting_.begin(), waiting_.end(), ticket));
  if (chosen == nullptr) {
    freed_.notify_all();
    std::string reasons;
    for (const LostDevice& device : lost_)
      reasons += (reasons.empty() ? "" : "; ") + std::string("GPU ") +
                 std::to_string(device.device) + ": " + device.reason;
    throw Error("no GPU is left to run candidates on", reasons);
  }
  chosen->busy = true;
  ++chosen->evaluations;
  // The next caller in line may find another free device.
  freed_.notify_all();
  return Lease(this, chosen);
}

void GpuPool::release(Device* device) {
  {
    std::lock_guard lock(mutex_);
    device->busy = false;
  }
  freed_.notify_all();
}

void GpuPool::retire(Lease& lease, std::string reason) {
  std::lock_guard lock(mutex_);
  lease.device_->retired = true;
  --lease.device_->evaluations;  // the evaluation goes to another device
  lost_.push_back({lease.device_->index, std::move(reason)});
}

size_t GpuPool::size() const {
  std::lock_guard lock(mutex_);
  return static_cast<size_t>(std::count_if(devices_.begin(), devices_.end(),
                                           [](const auto& device) { return !device->retired; }));
}

GpuWorkerClient* GpuPool::first() const {
  std::lock_guard lock(mutex_);
  return devices_.empty() ? nullptr : devices_.front()->gpu;
}

std::vector<LostDevice> GpuPool::lost() const {
  std::lock_guard lock(mutex_);
  return lost_;
}

std::vector<std::pair<int, int64_t>> GpuPool::evaluations() const {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<int, int64_t>> counts;
  for (const auto& device : devices_)
    counts.emplace_back(device->index, device->evaluations);
  return counts;
}

GpuPool::Lease::Lease(Lease&& other) noexcept : pool_(other.pool_), device_(other.device_) {
  other.pool_ = nullptr;
  other.device_ = nullptr;
}

GpuPool::Lease::~Lease() {
  if (pool_ != nullptr)
    pool_->release(device_);
}

int GpuPool::Lease::device() const {
  return device_->index;
}

GpuWorkerClient& GpuPool::Lease::gpu() const {
  return *device_->gpu;
}

ReferenceRunner& GpuPool::Lease::reference() const {
  return *device_->reference;
}

Store& GpuPool::Lease::store() const {
  if (!device_->store)
    device_->store = Store::open_location(pool_->store_path_.string(), pool_->store_options_);
  return *device_->store;
}

}  // namespace kforge
