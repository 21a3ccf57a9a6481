#include "profiler/cupti_profiler_host.hpp"

#include <cupti_profiler_host.h>

#include <algorithm>

#include "harness/util/dynamic_library.hpp"
#include "harness/util/error.hpp"
#include "profiler/cupti_library.hpp"

namespace kforge {

struct CuptiProfilerHost::Api {
  decltype(&::cuptiGetResultString) cuptiGetResultString = nullptr;
  decltype(&::cuptiProfilerHostGetSupportedChips) cuptiProfilerHostGetSupportedChips = nullptr;
  decltype(&::cuptiProfilerHostInitialize) cuptiProfilerHostInitialize = nullptr;
  decltype(&::cuptiProfilerHostDeinitialize) cuptiProfilerHostDeinitialize = nullptr;
  decltype(&::cuptiProfilerHostGetMetricProperties) cuptiProfilerHostGetMetricProperties = nullptr;
  decltype(&::cuptiProfilerHostConfigAddMetrics) cuptiProfilerHostConfigAddMetrics = nullptr;
  decltype(&::cuptiProfilerHostGetConfigImageSize) cuptiProfilerHostGetConfigImageSize = nullptr;
  decltype(&::cuptiProfilerHostGetConfigImage) cuptiProfilerHostGetConfigImage = nullptr;
  decltype(&::cuptiProfilerHostGetNumOfPasses) cuptiProfilerHostGetNumOfPasses = nullptr;
  decltype(&::cuptiProfilerHostEvaluateToGpuValues) cuptiProfilerHostEvaluateToGpuValues = nullptr;
  std::string path;

  void check(CUptiResult result, const char* function) const {
    check_cupti(result, function, cuptiGetResultString, path);
  }
};

CuptiProfilerHost& CuptiProfilerHost::instance() {
  // Never destroyed: libcupti stays loaded until the process ends.
  static CuptiProfilerHost* host = new CuptiProfilerHost(cupti_library_candidates());
  return *host;
}

CuptiProfilerHost::CuptiProfilerHost(const std::vector<std::string>& names)
    : library_(std::make_unique<DynamicLibrary>(open_cupti_library(names))),
      api_(std::make_unique<Api>()) {
  auto resolve = [&](auto& slot, const char* name) {
    slot = library_->function<std::remove_reference_t<decltype(slot)>>(name);
  };
  Api& api = *api_;
  api.path = library_->path();
  resolve(api.cuptiGetResultString, "cuptiGetResultString");
  resolve(api.cuptiProfilerHostGetSupportedChips, "cuptiProfilerHostGetSupportedChips");
  resolve(api.cuptiProfilerHostInitialize, "cuptiProfilerHostInitialize");
  resolve(api.cuptiProfilerHostDeinitialize, "cuptiProfilerHostDeinitialize");
  resolve(api.cuptiProfilerHostGetMetricProperties, "cuptiProfilerHostGetMetricProperties");
  resolve(api.cuptiProfilerHostConfigAddMetrics, "cuptiProfilerHostConfigAddMetrics");
  resolve(api.cuptiProfilerHostGetConfigImageSize, "cuptiProfilerHostGetConfigImageSize");
  resolve(api.cuptiProfilerHostGetConfigImage, "cuptiProfilerHostGetConfigImage");
  resolve(api.cuptiProfilerHostGetNumOfPasses, "cuptiProfilerHostGetNumOfPasses");
  resolve(api.cuptiProfilerHostEvaluateToGpuValues, "cuptiProfilerHostEvaluateToGpuValues");
}

CuptiProfilerHost::~CuptiProfilerHost() = default;

const std::string& CuptiProfilerHost::path() const {
  return api_->path;
}

std::vector<std::string> CuptiProfilerHost::supported_chips() const {
  CUpti_Profiler_Host_GetSupportedChips_Params params{
      CUpti_Profiler_Host_GetSupportedChips_Params_STRUCT_SIZE};
  api_->check(api_->cuptiProfilerHostGetSupportedChips(&params),
              "cuptiProfilerHostGetSupportedChips");
  std::vector<std::string> chips;
  for (size_t i = 0; i < params.numChips; ++i)
    chips.emplace_back(params.ppChipNames[i]);
  return chips;
}

CuptiHostObject::CuptiHostObject(const CuptiProfilerHost& host, const std::string& chip,
                                 const std::vector<uint8_t>& availability)
    : host_(host) {
  CUpti_Profiler_Host_Initialize_Params params{CUpti_Profiler_Host_Initialize_Params_STRUCT_SIZE};
  params.profilerType = CUPTI_PROFILER_TYPE_RANGE_PROFILER;
  params.pChipName = chip.c_str();
  params.pCounterAvailabilityImage = availability.empty() ? nullptr : availability.data();
  host_.api().check(host_.api().cuptiProfilerHostInitialize(&params),
                    "cuptiProfilerHostInitialize");
  object_ = params.pHostObject;
}

CuptiHostObject::~CuptiHostObject() {
  CUpti_Profiler_Host_Deinitialize_Params params{
      CUpti_Profiler_Host_Deinitialize_Params_STRUCT_SIZE};
  params.pHostObject = object_;
  host_.api().cuptiProfilerHostDeinitialize(&params);  // nothing to do about a failure here
}

std::string CuptiHostObject::resolve(const std::string& metric) const {
  CUpti_Profiler_Host_GetMetricProperties_Params params{
      CUpti_Profiler_Host_GetMetricProperties_Params_STRUCT_SIZE};
  params.pHostObject = object_;
  params.pMetricName = metric.c_str();
  CUptiResult result = host_.api().cuptiProfilerHostGetMetricProperties(&params);
  if (result == CUPTI_SUCCESS)
    return "";
  return cupti_result_text(result, host_.api().cuptiGetResultString);
}

std::vector<uint8_t> CuptiHostObject::config_image(const std::vector<std::string>& metrics) {
  const auto& api = host_.api();
  std::vector<const char*> names;
  for (const std::string& metric : metrics)
    names.push_back(metric.c_str());
  CUpti_Profiler_Host_ConfigAddMetrics_Params add{
      CUpti_Profiler_Host_ConfigAddMetrics_Params_STRUCT_SIZE};
  add.pHostObject = object_;
  add.ppMetricNames = names.data();
  add.numMetrics = names.size();
  api.check(api.cuptiProfilerHostConfigAddMetrics(&add), "cuptiProfilerHostConfigAddMetrics");
  CUpti_Profiler_Host_GetConfigImageSize_Params size{
      CUpti_Profiler_Host_GetConfigImageSize_Params_STRUCT_SIZE};
  size.pHostObject = object_;
  api.check(api.cuptiProfilerHostGetConfigImageSize(&size), "cuptiProfilerHostGetConfigImageSize");
  std::vector<uint8_t> image(size.configImageSize);
  CUpti_Profiler_Host_GetConfigImage_Params get{
      CUpti_Profiler_Host_GetConfigImage_Params_STRUCT_SIZE};
  get.pHostObject = object_;
  get.configImageSize = image.size();
  get.pConfigImage = image.data();
  api.check(api.cuptiProfilerHostGetConfigImage(&get), "cuptiProfilerHostGetConfigImage");
  return image;
}

size_t CuptiHostObject::passes(std::vector<uint8_t>& image) const {
  CUpti_Profiler_Host_GetNumOfPasses_Params params{
      CUpti_Profiler_Host_GetNumOfPasses_Params_STRUCT_SIZE};
  params.configImageSize = image.size();
  params.pConfigImage = image.data();
  host_.api().check(host_.api().cuptiProfilerHostGetNumOfPasses(&params),
                    "cuptiProfilerHostGetNumOfPasses");
  return params.numOfPasses;
}

std::vector<double> CuptiHostObject::evaluate(const std::vector<uint8_t>& counter_data,
                                              size_t range,
                                              const std::vector<std::string>& metrics) const {
  std::vector<const char*> names;
  for (const std::string& metric : metrics)
    names.push_back(metric.c_str());
  std::vector<double> values(metrics.size(), 0.0);
  CUpti_Profiler_Host_EvaluateToGpuValues_Params params{
      CUpti_Profiler_Host_EvaluateToGpuValues_Params_STRUCT_SIZE};
  params.pHostObject = object_;
  params.pCounterDataImage = counter_data.data();
  params.counterDataImageSize = counter_data.size();
  params.rangeIndex = range;
  params.ppMetricNames = names.data();
  params.numMetrics = names.size();
  params.pMetricValues = values.data();
  host_.api().check(host_.api().cuptiProfilerHostEvaluateToGpuValues(&params),
                    "cuptiProfilerHostEvaluateToGpuValues");
  return values;
}

size_t MetricSetCheck::resolved_counters() const {
  return static_cast<size_t>(std::count_if(metrics.begin(), metrics.end(), [](const auto& metric) {
    return metric.source == MetricSource::kCounter && metric.resolved;
  }));
}

nlohmann::json MetricSetCheck::to_json() const {
  nlohmann::json list = nlohmann::json::array();
  for (const MetricResolution& metric : metrics) {
    nlohmann::json entry = {{"name", metric.name},
                            {"source", metric_source_name(metric.source)},
                            {"resolved", metric.resolved}};
    if (!metric.error.empty())
      entry["error"] = metric.error;
    list.push_back(std::move(entry));
  }
  return {{"arch", arch},
          {"chip", chip},
          {"metrics", std::move(list)},
          {"resolved_counters", resolved_counters()},
          {"passes", passes},
          {"config_image_bytes", config_image_bytes},
          {"cupti", cupti}};
}

MetricSetCheck check_metric_set(const CuptiProfilerHost& host, const std::string& arch) {
  std::optional<std::string> chip = chip_for_arch(arch);
  if (!chip)
    throw Error("no CUPTI chip name is known for architecture '" + arch + "'", "--arch");
  std::vector<std::string> chips = host.supported_chips();
  if (std::find(chips.begin(), chips.end(), *chip) == chips.end())
    throw Error("this CUPTI does not know chip " + *chip + " (" + arch + ")", host.path());
  MetricSetCheck check{.arch = arch, .chip = *chip, .cupti = host.path()};
  CuptiHostObject object(host, *chip);
  std::vector<std::string> counters;
  for (const MetricSpec& spec : metric_set()) {
    MetricResolution resolution{.name = std::string(spec.name), .source = spec.source};
    if (spec.source == MetricSource::kLaunch) {
      resolution.resolved = true;
    } else {
      resolution.error = object.resolve(resolution.name);
      resolution.resolved = resolution.error.empty();
      if (resolution.resolved)
        counters.push_back(resolution.name);
    }
    check.metrics.push_back(std::move(resolution));
  }
  if (!counters.empty()) {
    std::vector<uint8_t> image = object.config_image(counters);
    check.config_image_bytes = image.size();
    check.passes = object.passes(image);
  }
  return check;
}

}  // namespace kforge
