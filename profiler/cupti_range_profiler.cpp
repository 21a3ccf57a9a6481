#include "profiler/cupti_range_profiler.hpp"

#include <cupti_profiler_target.h>
#include <cupti_range_profiler.h>
#include <cupti_target.h>

#include <cmath>

#include "harness/util/dynamic_library.hpp"
#include "profiler/cupti_library.hpp"
#include "profiler/cupti_profiler_host.hpp"

namespace kforge {

struct CuptiRangeProfiler::Api {
  decltype(&::cuptiGetResultString) cuptiGetResultString = nullptr;
  decltype(&::cuptiProfilerInitialize) cuptiProfilerInitialize = nullptr;
  decltype(&::cuptiDeviceGetChipName) cuptiDeviceGetChipName = nullptr;
  decltype(&::cuptiProfilerGetCounterAvailability) cuptiProfilerGetCounterAvailability = nullptr;
  decltype(&::cuptiRangeProfilerEnable) cuptiRangeProfilerEnable = nullptr;
  decltype(&::cuptiRangeProfilerDisable) cuptiRangeProfilerDisable = nullptr;
  decltype(&::cuptiRangeProfilerGetCounterDataSize) cuptiRangeProfilerGetCounterDataSize = nullptr;
  decltype(&::cuptiRangeProfilerCounterDataImageInitialize)
      cuptiRangeProfilerCounterDataImageInitialize = nullptr;
  decltype(&::cuptiRangeProfilerSetConfig) cuptiRangeProfilerSetConfig = nullptr;
  decltype(&::cuptiRangeProfilerStart) cuptiRangeProfilerStart = nullptr;
  decltype(&::cuptiRangeProfilerStop) cuptiRangeProfilerStop = nullptr;
  decltype(&::cuptiRangeProfilerPushRange) cuptiRangeProfilerPushRange = nullptr;
  decltype(&::cuptiRangeProfilerPopRange) cuptiRangeProfilerPopRange = nullptr;
  decltype(&::cuptiRangeProfilerDecodeData) cuptiRangeProfilerDecodeData = nullptr;
  decltype(&::cuptiRangeProfilerGetCounterDataInfo) cuptiRangeProfilerGetCounterDataInfo = nullptr;
  std::unique_ptr<DynamicLibrary> library;

  void check(CUptiResult result, const char* function) const {
    check_cupti(result, function, cuptiGetResultString, library->path());
  }
};

namespace {

// Disables the range profiler however a profile ends.
struct EnabledProfiler {
  const CuptiRangeProfiler::Api& api;
  CUpti_RangeProfiler_Object* object = nullptr;
  ~EnabledProfiler() {
    if (object == nullptr)
      return;
    CUpti_RangeProfiler_Disable_Params params{CUpti_RangeProfiler_Disable_Params_STRUCT_SIZE};
    params.pRangeProfilerObject = object;
    api.cuptiRangeProfilerDisable(&params);
  }
};

}  // namespace

CuptiRangeProfiler::CuptiRangeProfiler()
    : host_(CuptiProfilerHost::instance()), api_(std::make_unique<Api>()) {
  // The same library file as the host API's, opened again (dlopen counts references).
  api_->library = std::make_unique<DynamicLibrary>(open_cupti_library({host_.path()}));
  auto resolve = [&](auto& slot, const char* name) {
    slot = api_->library->function<std::remove_reference_t<decltype(slot)>>(name);
  };
  Api& api = *api_;
  resolve(api.cuptiGetResultString, "cuptiGetResultString");
  resolve(api.cuptiProfilerInitialize, "cuptiProfilerInitialize");
  resolve(api.cuptiDeviceGetChipName, "cuptiDeviceGetChipName");
  resolve(api.cuptiProfilerGetCounterAvailability, "cuptiProfilerGetCounterAvailability");
  resolve(api.cuptiRangeProfilerEnable, "cuptiRangeProfilerEnable");
  resolve(api.cuptiRangeProfilerDisable, "cuptiRangeProfilerDisable");
  resolve(api.cuptiRangeProfilerGetCounterDataSize, "cuptiRangeProfilerGetCounterDataSize");
  resolve(api.cuptiRangeProfilerCounterDataImageInitialize,
          "cuptiRangeProfilerCounterDataImageInitialize");
  resolve(api.cuptiRangeProfilerSetConfig, "cuptiRangeProfilerSetConfig");
  resolve(api.cuptiRangeProfilerStart, "cuptiRangeProfilerStart");
  resolve(api.cuptiRangeProfilerStop, "cuptiRangeProfilerStop");
  resolve(api.cuptiRangeProfilerPushRange, "cuptiRangeProfilerPushRange");
  resolve(api.cuptiRangeProfilerPopRange, "cuptiRangeProfilerPopRange");
  resolve(api.cuptiRangeProfilerDecodeData, "cuptiRangeProfilerDecodeData");
  resolve(api.cuptiRangeProfilerGetCounterDataInfo, "cuptiRangeProfilerGetCounterDataInfo");
  CUpti_Profiler_Initialize_Params initialize{CUpti_Profiler_Initialize_Params_STRUCT_SIZE};
  api.check(api.cuptiProfilerInitialize(&initialize), "cuptiProfilerInitialize");
}

CuptiRangeProfiler::~CuptiRangeProfiler() = default;

RangeProfile CuptiRangeProfiler::profile(CUcontext context, int device_index,
                                         const std::vector<std::string>& metrics, size_t ranges,
                                         const std::function<void()>& before_pass,
                                         const std::function<void(size_t)>& run_range) {
  const Api& api = *api_;
  RangeProfile profile;
  if (ranges == 0)
    return profile;

  CUpti_Device_GetChipName_Params chip{CUpti_Device_GetChipName_Params_STRUCT_SIZE};
  chip.deviceIndex = static_cast<size_t>(device_index);
  api.check(api.cuptiDeviceGetChipName(&chip), "cuptiDeviceGetChipName");
  profile.chip = chip.pChipName;

  // Where profiling is not allowed (NVreg_RestrictProfilingToAdminUsers, MIG, a virtual GPU),
  // this is the first call that says so.
  CUpti_Profiler_GetCounterAvailability_Params availability{
      CUpti_Profiler_GetCounterAvailability_Params_STRUCT_SIZE};
  availability.ctx = context;
  api.check(api.cuptiProfilerGetCounterAvailability(&availability),
            "cuptiProfilerGetCounterAvailability");
  std::vector<uint8_t> availability_image(availability.counterAvailabilityImageSize);
  availability.pCounterAvailabilityImage = availability_image.data();
  api.check(api.cuptiProfilerGetCounterAvailability(&availability),
            "cuptiProfilerGetCounterAvailability");

  CuptiHostObject host(host_, profile.chip, availability_image);
  std::vector<std::string> resolved;
  for (const std::string& metric : metrics) {
    if (host.resolve(metric).empty())
      resolved.push_back(metric);
    else
      profile.unresolved.push_back(metric);
  }
  if (resolved.empty())
    return profile;
  std::vector<uint8_t> config = host.config_image(resolved);
  profile.passes = host.passes(config);

  CUpti_RangeProfiler_Enable_Params enable{CUpti_RangeProfiler_Enable_Params_STRUCT_SIZE};
  enable.ctx = context;
  api.check(api.cuptiRangeProfilerEnable(&enable), "cuptiRangeProfilerEnable");
  EnabledProfiler enabled{api, enable.pRangeProfilerObject};

  std::vector<const char*> names;
  for (const std::string& metric : resolved)
    names.push_back(metric.c_str());
  CUpti_RangeProfiler_GetCounterDataSize_Params size{
      CUpti_RangeProfiler_GetCounterDataSize_Params_STRUCT_SIZE};
  size.pRangeProfilerObject = enabled.object;
  size.pMetricNames = names.data();
  size.numMetrics = names.size();
  size.maxNumOfRanges = ranges;
  size.maxNumRangeTreeNodes = static_cast<uint32_t>(ranges);
  api.check(api.cuptiRangeProfilerGetCounterDataSize(&size),
            "cuptiRangeProfilerGetCounterDataSize");
  std::vector<uint8_t> counter_data(size.counterDataSize);
  CUpti_RangeProfiler_CounterDataImage_Initialize_Params initialize{
      CUpti_RangeProfiler_CounterDataImage_Initialize_Params_STRUCT_SIZE};
  initialize.pRangeProfilerObject = enabled.object;
  initialize.counterDataSize = counter_data.size();
  initialize.pCounterData = counter_data.data();
  api.check(api.cuptiRangeProfilerCounterDataImageInitialize(&initialize),
            "cuptiRangeProfilerCounterDataImageInitialize");

  CUpti_RangeProfiler_SetConfig_Params set{CUpti_RangeProfiler_SetConfig_Params_STRUCT_SIZE};
  set.pRangeProfilerObject = enabled.object;
  set.configSize = config.size();
  set.pConfig = config.data();
  set.counterDataImageSize = counter_data.size();
  set.pCounterDataImage = counter_data.data();
  set.range = CUPTI_UserRange;
  set.replayMode = CUPTI_UserReplay;
  set.maxRangesPerPass = ranges;
  set.numNestingLevels = 1;
  set.minNestingLevel = 1;
  set.passIndex = 0;
  set.targetNestingLevel = 1;
  api.check(api.cuptiRangeProfilerSetConfig(&set), "cuptiRangeProfilerSetConfig");

  // One pass per Start/Stop; CUPTI says when it has them all. A bound beyond the passes the
  // configuration needs keeps a confused profiler from replaying for ever.
  bool all_submitted = false;
  for (size_t pass = 0; !all_submitted && pass < profile.passes + 2; ++pass) {
    before_pass();
    CUpti_RangeProfiler_Start_Params start{CUpti_RangeProfiler_Start_Params_STRUCT_SIZE};
    start.pRangeProfilerObject = enabled.object;
    api.check(api.cuptiRangeProfilerStart(&start), "cuptiRangeProfilerStart");
    for (size_t k = 0; k < ranges; ++k) {
      std::string name = std::to_string(k);
      CUpti_RangeProfiler_PushRange_Params push{CUpti_RangeProfiler_PushRange_Params_STRUCT_SIZE};
      push.pRangeProfilerObject = enabled.object;
      push.pRangeName = name.c_str();
      api.check(api.cuptiRangeProfilerPushRange(&push), "cuptiRangeProfilerPushRange");
      run_range(k);
      CUpti_RangeProfiler_PopRange_Params pop{CUpti_RangeProfiler_PopRange_Params_STRUCT_SIZE};
      pop.pRangeProfilerObject = enabled.object;
      api.check(api.cuptiRangeProfilerPopRange(&pop), "cuptiRangeProfilerPopRange");
    }
    CUpti_RangeProfiler_Stop_Params stop{CUpti_RangeProfiler_Stop_Params_STRUCT_SIZE};
    stop.pRangeProfilerObject = enabled.object;
    api.check(api.cuptiRangeProfilerStop(&stop), "cuptiRangeProfilerStop");
    all_submitted = stop.isAllPassSubmitted != 0;
  }
  if (!all_submitted) {
    throw CuptiError(CUPTI_ERROR_UNKNOWN,
                     "the range profiler wanted more passes than its configuration's " +
                         std::to_string(profile.passes),
                     "cuptiRangeProfilerStop");
  }

  CUpti_RangeProfiler_DecodeData_Params decode{CUpti_RangeProfiler_DecodeData_Params_STRUCT_SIZE};
  decode.pRangeProfilerObject = enabled.object;
  api.check(api.cuptiRangeProfilerDecodeData(&decode), "cuptiRangeProfilerDecodeData");
  if (decode.numOfRangeDropped != 0) {
    throw CuptiError(CUPTI_ERROR_UNKNOWN,
                     std::to_string(decode.numOfRangeDropped) + " ranges were dropped",
                     "cuptiRangeProfilerDecodeData");
  }
  CUpti_RangeProfiler_GetCounterDataInfo_Params info{
      CUpti_RangeProfiler_GetCounterDataInfo_Params_STRUCT_SIZE};
  info.pCounterDataImage = counter_data.data();
  info.counterDataImageSize = counter_data.size();
  api.check(api.cuptiRangeProfilerGetCounterDataInfo(&info),
            "cuptiRangeProfilerGetCounterDataInfo");
  for (size_t range = 0; range < info.numTotalRanges; ++range) {
    std::vector<double> values = host.evaluate(counter_data, range, resolved);
    std::map<std::string, double> named;
    for (size_t m = 0; m < resolved.size(); ++m) {
      if (std::isfinite(values[m]))
        named[resolved[m]] = values[m];
    }
    profile.ranges.push_back(std::move(named));
  }
  return profile;
}

}  // namespace kforge
