#include "profiler/cupti_activity.hpp"

#include <cupti.h>

#include <atomic>
#include <cstdlib>

#include "harness/util/cuda_libraries.hpp"
#include "harness/util/dynamic_library.hpp"
#include "harness/util/error.hpp"
#include "profiler/cupti_library.hpp"

namespace kforge {
namespace {

constexpr size_t kBufferBytes = 8 << 20;
constexpr size_t kBufferAlignment = 8;

struct CuptiApi {
  CUptiResult (*cuptiGetVersion)(uint32_t*);
  CUptiResult (*cuptiGetResultString)(CUptiResult, const char**);
  CUptiResult (*cuptiActivityRegisterCallbacks)(CUpti_BuffersCallbackRequestFunc,
                                                CUpti_BuffersCallbackCompleteFunc);
  CUptiResult (*cuptiActivityEnable)(CUpti_ActivityKind);
  CUptiResult (*cuptiActivityDisable)(CUpti_ActivityKind);
  CUptiResult (*cuptiActivityFlushAll)(uint32_t);
  CUptiResult (*cuptiActivityGetNextRecord)(uint8_t*, size_t, CUpti_Activity**);
  CUptiResult (*cuptiActivityGetNumDroppedRecords)(CUcontext, uint32_t, size_t*);
  CUptiResult (*cuptiSubscribe)(CUpti_SubscriberHandle*, CUpti_CallbackFunc, void*);
  CUptiResult (*cuptiUnsubscribe)(CUpti_SubscriberHandle);
  CUptiResult (*cuptiEnableCallback)(uint32_t, CUpti_SubscriberHandle, CUpti_CallbackDomain,
                                     CUpti_CallbackId);
};

// What the CUPTI callbacks (plain functions) write into; one per process, like CUPTI's own.
struct Shared {
  ActivityRecords records;
  std::atomic<uint32_t> last_correlation{0};
  CuptiApi* api = nullptr;
};
// Never destroyed: CUPTI may deliver buffers from its own threads while the process exits.
Shared& shared = *new Shared;

void CUPTIAPI buffer_requested(uint8_t** buffer, size_t* size, size_t* max_records) {
  *buffer = static_cast<uint8_t*>(std::aligned_alloc(kBufferAlignment, kBufferBytes));
  *size = *buffer ? kBufferBytes : 0;
  *max_records = 0;  // as many as fit
}

void CUPTIAPI buffer_completed(CUcontext, uint32_t, uint8_t* buffer, size_t, size_t valid_bytes) {
  std::vector<const void*> records;
  CUpti_Activity* record = nullptr;
  while (shared.api &&
         shared.api->cuptiActivityGetNextRecord(buffer, valid_bytes, &record) == CUPTI_SUCCESS)
    records.push_back(record);
  // The buffer stays alive while any of its records waits for its timestamps.
  shared.records.add(buffer, std::free, records);
}

void CUPTIAPI api_called(void*, CUpti_CallbackDomain domain, CUpti_CallbackId, const void* data) {
  if (domain != CUPTI_CB_DOMAIN_DRIVER_API)
    return;
  auto* call = static_cast<const CUpti_CallbackData*>(data);
  if (call->callbackSite == CUPTI_API_ENTER)
    shared.last_correlation.store(call->correlationId);
}

}  // namespace

struct CuptiActivity::Impl {
  DynamicLibrary library;
  CuptiApi api{};
  CUpti_SubscriberHandle subscriber = nullptr;
  bool started = false;

  void check(CUptiResult result, const char* function) const {
    check_cupti(result, function, api.cuptiGetResultString, library.path());
  }
};

CuptiActivity& CuptiActivity::instance() {
  // Never destroyed, for the same reason: libcupti stays loaded until the process ends.
  static CuptiActivity* activity = new CuptiActivity;
  return *activity;
}

CuptiActivity::CuptiActivity() : impl_(new Impl{open_cupti_library()}) {
  auto& library = impl_->library;
  auto& api = impl_->api;
  auto resolve = [&](auto& slot, const char* name) {
    slot = library.function<std::remove_reference_t<decltype(slot)>>(name);
  };
  resolve(api.cuptiGetVersion, "cuptiGetVersion");
  resolve(api.cuptiGetResultString, "cuptiGetResultString");
  resolve(api.cuptiActivityRegisterCallbacks, "cuptiActivityRegisterCallbacks");
  resolve(api.cuptiActivityEnable, "cuptiActivityEnable");
  resolve(api.cuptiActivityDisable, "cuptiActivityDisable");
  resolve(api.cuptiActivityFlushAll, "cuptiActivityFlushAll");
  resolve(api.cuptiActivityGetNextRecord, "cuptiActivityGetNextRecord");
  resolve(api.cuptiActivityGetNumDroppedRecords, "cuptiActivityGetNumDroppedRecords");
  resolve(api.cuptiSubscribe, "cuptiSubscribe");
  resolve(api.cuptiUnsubscribe, "cuptiUnsubscribe");
  resolve(api.cuptiEnableCallback, "cuptiEnableCallback");
  shared.api = &api;
  impl_->check(api.cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed),
               "cuptiActivityRegisterCallbacks");
}

CuptiActivity::~CuptiActivity() = default;

std::string CuptiActivity::version() const {
  uint32_t version = 0;
  if (impl_->api.cuptiGetVersion(&version) != CUPTI_SUCCESS)
    return "unknown";
  return "CUPTI API " + std::to_string(version) + " (" + impl_->library.path() + ")";
}

void CuptiActivity::start() {
  if (impl_->started)
    return;
  auto& api = impl_->api;
  // Subscribe first: a launch recorded before its correlation id can be known is not ours.
  if (!impl_->subscriber) {
    impl_->check(api.cuptiSubscribe(&impl_->subscriber, api_called, nullptr), "cuptiSubscribe");
    for (CUpti_CallbackId id :
         {CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel, CUPTI_DRIVER_TRACE_CBID_cuLaunchKernel_ptsz,
          CUPTI_DRIVER_TRACE_CBID_cuMemcpyDtoD_v2, CUPTI_DRIVER_TRACE_CBID_cuMemcpyDtoDAsync_v2}) {
      impl_->check(api.cuptiEnableCallback(1, impl_->subscriber, CUPTI_CB_DOMAIN_DRIVER_API, id),
                   "cuptiEnableCallback");
    }
  }
  impl_->check(api.cuptiActivityEnable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL),
               "cuptiActivityEnable(CONCURRENT_KERNEL)");
  impl_->check(api.cuptiActivityEnable(CUPTI_ACTIVITY_KIND_MEMCPY), "cuptiActivityEnable(MEMCPY)");
  impl_->started = true;
}

void CuptiActivity::stop() {
  if (!impl_->started)
    return;
  impl_->api.cuptiActivityDisable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
  impl_->api.cuptiActivityDisable(CUPTI_ACTIVITY_KIND_MEMCPY);
  impl_->started = false;
}

uint32_t CuptiActivity::last_correlation_id() const {
  return shared.last_correlation.load();
}

void CuptiActivity::collect(std::vector<ActivityInterval>& kernels,
                            std::vector<ActivityInterval>& copies, bool force) {
  impl_->check(impl_->api.cuptiActivityFlushAll(force ? CUPTI_ACTIVITY_FLAG_FLUSH_FORCED : 0),
               "cuptiActivityFlushAll");
  shared.records.take_complete(kernels, copies);
}

size_t CuptiActivity::incomplete_records() const {
  return shared.records.incomplete();
}

size_t CuptiActivity::drop_incomplete() {
  return shared.records.drop_incomplete();
}

size_t CuptiActivity::dropped_records() const {
  size_t dropped = 0;
  if (impl_->api.cuptiActivityGetNumDroppedRecords(nullptr, 0, &dropped) != CUPTI_SUCCESS)
    return 0;
  return dropped;
}

}  // namespace kforge
