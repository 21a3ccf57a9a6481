#include "harness/config.hpp"

#include <toml++/toml.h>
#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "harness/options/compile_pool_options.hpp"
#include "harness/options/evaluator_options.hpp"
#include "harness/options/gpu_worker_options.hpp"
#include "harness/options/model_rule.hpp"
#include "harness/options/nightly_options.hpp"
#include "harness/options/plan_limits.hpp"
#include "harness/options/promotion_options.hpp"
#include "harness/options/provider_settings.hpp"
#include "harness/options/reference_runner_options.hpp"
#include "harness/options/run_settings.hpp"
#include "harness/options/strategy_settings.hpp"
#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "harness/util/name_table.hpp"
#include "harness/util/store_url.hpp"
#include "harness/util/strings.hpp"

namespace kforge {
namespace {

// A default as TOML writes it.
std::string text(int64_t value) {
  return std::to_string(value);
}
std::string text(int value) {
  return std::to_string(value);
}
std::string text(double value) {
  char buffer[32];
  auto [end, status] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, end);
}
std::string text(bool value) {
  return value ? "true" : "false";
}
std::vector<std::string> names(std::span<const std::string_view> values, bool empty_allowed) {
  std::vector<std::string> out(values.begin(), values.end());
  if (empty_allowed)
    out.insert(out.begin(), "");
  return out;
}
int64_t seconds(std::chrono::milliseconds duration) {
  return std::chrono::duration_cast<std::chrono::seconds>(duration).count();
}

// The one table of configuration keys. Add a row here to add a key. A key that sets a field of
// an options struct takes its default from that struct, so each default is written once.
const std::vector<ConfigKey>& keys() {
  static const std::vector<ConfigKey> rows = [] {
    const EvaluatorOptions evaluator;
    const ReferenceRunnerOptions reference;
    const CompilePoolOptions compile;
    const Limits limits;
    const RunSettings run;
    const GpuWorkerOptions gpu;
    const agents::ProviderSettings llm;
    const agents::StrategySettings strategy;
    const PromotionOptions promotion;
    const NightlyOptions nightly;
    const int64_t compile_seconds = seconds(compile.time_limit);
    const int64_t gpu_run_seconds = seconds(gpu.run_limit);
    const int64_t gpu_time_seconds = seconds(gpu.time_limit);
    const int64_t llm_seconds = seconds(llm.timeout);
    return std::vector<ConfigKey>{
        {"python", ConfigType::kString, "",
         "Python interpreter with torch for the reference runner (default: found automatically)"},
        {"arch", ConfigType::kString, evaluator.arch,
         "GPU architecture to compile for when no GPU is present"},
        {"reference.timeout_s", ConfigType::kInteger, text(reference.timeout_s),
         "time limit for one reference-runner call, in seconds", 1, 86400},
        {"reference.jobs", ConfigType::kInteger, text(reference.jobs),
         "reference runners run at once during import (0: one per core)", 0, 256},
        {"reference.memory_mb", ConfigType::kInteger, text(reference.memory_mb),
         "resident memory one reference runner may use, in MiB (0: half of this machine's memory)",
         0, 16777216},
        {"compile.timeout_s", ConfigType::kInteger, text(compile_seconds),
         "time limit for one NVRTC compile", 1, 3600},
        {"compile.memory_mb", ConfigType::kInteger, text(compile.memory_mb),
         "memory limit of a compile worker, in MiB", 512, 1048576},
        {"compile.workers", ConfigType::kInteger, text(compile.workers),
         "compile workers (0: one per core)", 0, 256},
        {"compile.max_local_bytes", ConfigType::kInteger,
         text(evaluator.max_local_bytes_per_thread),
         "local memory per thread a kernel may need, in bytes (512 KiB: the hardware's limit)", 0,
         524288},
        {"plan.max_kernels", ConfigType::kInteger, text(limits.max_kernels),
         "kernel launches a launch plan may make", 1, 1024},
        {"plan.max_shared_bytes", ConfigType::kInteger, text(limits.max_dynamic_shared_bytes),
         "dynamic shared memory per launch, in bytes (default 227 KiB, the sm_90 maximum)", 0,
         1048576},
        {"plan.max_scratch_bytes", ConfigType::kInteger, text(limits.max_scratch_bytes),
         "scratch memory of a launch plan, all buffers together, in bytes", 0, 1099511627776},
        {"verify.seeds", ConfigType::kInteger, text(run.seeds),
         "random seeds a candidate is verified on, each at every check shape and the benchmark "
         "shape",
         1, 100},
        {"verify.dtype", ConfigType::kString, run.dtype,
         "floating dtype the reference runs in for verification, timing and baselines"},
        {"timing.warmup", ConfigType::kInteger, text(run.timing.warmup),
         "untimed iterations before timing", 0, 100000},
        {"timing.min_samples", ConfigType::kInteger, text(run.timing.min_samples),
         "timed iterations at least", 1, 1000000},
        {"timing.max_samples", ConfigType::kInteger, text(run.timing.max_samples),
         "timed iterations at most", 1, 1000000},
        {"timing.target_spread", ConfigType::kReal, text(run.timing.target_spread),
         "stop timing once (p90 - p10) / median is at most this", 0, 10},
        {"timing.time_cap_ms", ConfigType::kReal, text(run.timing.time_cap_ms),
         "stop timing after this much wall time in timed iterations, in milliseconds", 1, 3600000},
        {"timing.input_sets", ConfigType::kInteger, text(run.input_sets),
         "input sets with different contents that timed iterations rotate among", 1, 64},
        {"timing.flush_l2", ConfigType::kBoolean, text(run.timing.flush_l2),
         "flush the L2 cache before every timed iteration (the flush is not counted)"},
        {"timing.baselines", ConfigType::kBoolean, text(run.baselines),
         "time PyTorch eager and torch.compile on the same GPU for speedups (cached per GPU)"},
        {"profile.enabled", ConfigType::kBoolean, text(run.profile),
         "collect hardware counters (CUPTI range profiler) per kernel after timing, untimed"},
        {"profile.only_correct", ConfigType::kBoolean, text(run.profile_only_correct),
         "profile only correct candidates; false adds incorrect and suspicious ones"},
        {.name = "profile.profiler",
         .type = ConfigType::kString,
         .default_value = std::string(name_in(kProfilerChoiceNames, run.profiler)),
         .help = "who collects the counters: cupti (the range profiler in the GPU worker), ncu "
                 "(Nsight Compute's CLI around a replay of the candidate), or auto (ncu where "
                 "CUPTI's counters are unavailable)",
         .choices = profiler_names()},
        {"profile.ncu", ConfigType::kString, run.ncu,
         "Nsight Compute's CLI for profile.profiler = ncu or auto: a name looked up on PATH, or "
         "a path"},
        {"gpu.device", ConfigType::kInteger, text(gpu.device),
         "ordinal of the GPU candidates run on", 0, kMaxGpuOrdinal},
        {"gpu.devices", ConfigType::kString, "",
         "the GPUs candidates run on, one GPU worker each: \"all\" (every GPU the driver "
         "shows), or a list of ordinals such as [0, 2]; unset: gpu.device alone"},
        {"gpu.run_limit_s", ConfigType::kInteger, text(gpu_run_seconds),
         "watchdog for one verification run on the GPU; past it the verdict is timeout", 1, 86400},
        {"gpu.time_limit_s", ConfigType::kInteger, text(gpu_time_seconds),
         "watchdog for timing one candidate on the GPU; past it the verdict is timeout", 1, 86400},
        {"llm.provider", ConfigType::kString, llm.provider,
         "LLM wire protocol: openai (also vLLM, SGLang, llama.cpp, Ollama, OpenRouter) or "
         "anthropic"},
        {"llm.base_url", ConfigType::kString, "",
         "LLM endpoint up to the API version, e.g. https://api.openai.com/v1"},
        {"llm.model", ConfigType::kString, "", "model name as the endpoint knows it"},
        {"llm.api_key_env", ConfigType::kString, "",
         "name of the environment variable holding the API key (the key itself is never stored)"},
        {"llm.temperature", ConfigType::kReal, text(llm.temperature), "sampling temperature", 0, 2},
        {"llm.max_tokens", ConfigType::kInteger, text(llm.max_tokens),
         "most tokens one answer may have", 1, 10000000},
        {"llm.timeout_s", ConfigType::kInteger, text(llm_seconds),
         "time limit for one LLM request, in seconds", 1, 86400},
        {"llm.concurrency", ConfigType::kInteger, text(llm.concurrency),
         "LLM requests in flight at once", 1, 1024},
        {"llm.retries", ConfigType::kInteger, text(llm.retries),
         "extra attempts after 429, 5xx, timeouts and dropped connections", 0, 100},
        {"llm.price_input_per_mtok", ConfigType::kReal, text(llm.price_input_per_mtok),
         "price of a million input tokens, in US dollars, for cost accounting", 0, 1000000},
        {"llm.price_output_per_mtok", ConfigType::kReal, text(llm.price_output_per_mtok),
         "price of a million output tokens, in US dollars, for cost accounting", 0, 1000000},
        {"llm.samples", ConfigType::kInteger, text(strategy.samples),
         "proposals per prompt (sample), parallel chains (refine), first generation (beam)", 1,
         1024},
        {"llm.stream", ConfigType::kBoolean, text(llm.stream),
         "stream answers (server-sent events)"},
        // Per model, by name pattern ([llm.models."gpt-5*"]); defaults by model family
        // (agents/model_family.cpp, docs/llm-models.md).
        {.name = "llm.models.<pattern>.token_field",
         .type = ConfigType::kString,
         .help = "OpenAI field of the answer's token limit for models matching <pattern>",
         .choices = names(agents::token_field_names(), false)},
        {.name = "llm.models.<pattern>.temperature",
         .type = ConfigType::kBoolean,
         .help = "whether a temperature is sent to models matching <pattern>"},
        {.name = "llm.models.<pattern>.reasoning_effort",
         .type = ConfigType::kString,
         .help = "reasoning effort (OpenAI reasoning_effort, Anthropic output_config.effort; "
                 "\"\": not sent)",
         .choices = names(agents::reasoning_effort_names(), true)},
        {.name = "llm.models.<pattern>.thinking",
         .type = ConfigType::kString,
         .help = "Anthropic extended thinking: off, enabled (a budget) or adaptive",
         .choices = names(agents::thinking_names(), false)},
        {.name = "llm.models.<pattern>.thinking_budget",
         .type = ConfigType::kInteger,
         .help = "thinking tokens on top of llm.max_tokens when thinking = \"enabled\"",
         .minimum = 1024,
         .maximum = 10000000},
        {"library.dir", ConfigType::kString, "kernels",
         "the shipped kernel library folder (relative to the workspace) that promote writes"},
        {"promote.min_speedup", ConfigType::kReal, text(promotion.min_speedup_eager),
         "speedup over eager a candidate needs to be promoted", 0, 1000000},
        {"store.url", ConfigType::kString, "",
         "the store: a postgresql:// URL (docs/postgresql-store.md) or a SQLite file (default: "
         "<workspace>/kforge.db); --db overrides it"},
        {"store.retry_s", ConfigType::kInteger, "30",
         "how long kforge keeps trying to reach an unreachable or restarting PostgreSQL server, "
         "in seconds, before it stops",
         0, 86400},
        {"store.lease_s", ConfigType::kInteger, "30",
         "how long a node's claim on a task of a shared run lasts without its heartbeat (which "
         "renews it every third of this); a node that dies gives its tasks up after it, in "
         "seconds (optimize --join, docs/scale-out.md)",
         1, 86400},
        {"nightly.library", ConfigType::kBoolean, text(nightly.library),
         "kforge nightly: re-verify every shipped kernel of the workspace library (library.dir)"},
        {"nightly.tasks", ConfigType::kString, nightly.tasks,
         "kforge nightly: tasks to optimise, names or globs, comma-separated (e.g. builtin/*)"},
        {"nightly.wall_time_s", ConfigType::kInteger, text(nightly.wall_time_s),
         "kforge nightly: the night's wall-time budget in seconds; work in hand is finished and "
         "stored (0: none)",
         0, 31536000},
        {"nightly.max_evaluations", ConfigType::kInteger, text(nightly.max_evaluations),
         "kforge nightly: evaluations the night may make (0: no limit)", 0, 1000000000},
        {"nightly.max_tokens", ConfigType::kInteger, text(nightly.max_tokens),
         "kforge nightly: LLM tokens (input + output) the night may spend (0: no limit)", 0,
         1000000000000},
        {"nightly.max_cost_usd", ConfigType::kReal, text(nightly.max_cost_usd),
         "kforge nightly: LLM cost the night may spend, in US dollars (0: no limit)", 0, 1000000},
        {"nightly.agents", ConfigType::kString, nightly.agents,
         "kforge nightly: agents beside the search of seed kernels: tune, llm, both or none"},
        {"nightly.promote", ConfigType::kString, nightly.promote,
         "kforge nightly: rules (promote what passes every promotion rule) or none"},
        {"nightly.report_dir", ConfigType::kString, nightly.report_dir,
         "kforge nightly: folder of the night's reports (relative to the workspace)"},
        {"nightly.on_regression", ConfigType::kString, nightly.on_regression,
         "kforge nightly: shell command run when a regression is found "
         "($KFORGE_NIGHT_REPORT holds the report's path)"},
    };
  }();
  return rows;
}

std::vector<std::string> key_names() {
  std::vector<std::string> names;
  for (const ConfigKey& key : keys())
    names.emplace_back(key.name);
  return names;
}

std::string type_name(ConfigType type) {
  switch (type) {
    case ConfigType::kString:
      return "a string";
    case ConfigType::kInteger:
      return "an integer";
    case ConfigType::kReal:
      return "a number";
    case ConfigType::kBoolean:
      return "true or false";
  }
  return "?";
}

bool is_template(const ConfigKey& key) {
  return key.name.find("<pattern>") != std::string_view::npos;
}

// Throws Error naming the key, the value and the allowed ones when a string is not among them.
void check_choices(const ConfigKey& key, std::string_view name, const nlohmann::json& value,
                   const std::string& where) {
  if (key.choices.empty() || !value.is_string())
    return;
  std::string text = value.get<std::string>();
  if (std::find(key.choices.begin(), key.choices.end(), text) != key.choices.end())
    return;
  throw Error(strings::unknown_name_message(std::string(name) + " value", text, key.choices),
              where);
}

nlohmann::json parse_value(const ConfigKey& key, std::string_view text, const std::string& where) {
  auto wrong = [&]() -> Error {
    return Error("value '" + std::string(text) + "' of " + std::string(key.name) + " is not " +
                     type_name(key.type),
                 where);
  };
  switch (key.type) {
    case ConfigType::kString:
      return std::string(text);
    case ConfigType::kInteger: {
      int64_t value = 0;
      auto [end, status] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (status != std::errc() || end != text.data() + text.size())
        throw wrong();
      return value;
    }
    case ConfigType::kReal: {
      try {
        size_t used = 0;
        double value = std::stod(std::string(text), &used);
        if (used != text.size())
          throw wrong();
        return value;
      } catch (const std::logic_error&) {
        throw wrong();
      }
    }
    case ConfigType::kBoolean:
      if (text == "true")
        return true;
      if (text == "false")
        return false;
      throw wrong();
  }
  throw wrong();
}

std::string number_text(double value) {
  char text[64];
  if (std::abs(value) < 9.0e15 && value == std::floor(value))
    std::snprintf(text, sizeof text, "%.0f", value);
  else
    std::snprintf(text, sizeof text, "%.17g", value);
  return text;
}

// Throws Error naming the key, the value and the allowed range when a number is outside it.
void check_range(const ConfigKey& key, const nlohmann::json& value, const std::string& where) {
  if (!value.is_number())
    return;
  double number = value.get<double>();
  if (number >= key.minimum && number <= key.maximum)
    return;
  std::string shown = value.is_number_float() ? number_text(number) : value.dump();
  throw Error(std::string(key.name) + " = " + shown + " is out of range: allowed " +
                  number_text(key.minimum) + " to " + number_text(key.maximum),
              where);
}

const ConfigKey* find_key(std::string_view name) {
  for (const ConfigKey& key : keys()) {
    if (config_key_matches(key.name, name))
      return &key;
  }
  return nullptr;
}

void flatten(const toml::table& table, const std::string& prefix, const std::string& file,
             std::vector<std::pair<std::string, const toml::node*>>& out) {
  for (const auto& [name, node] : table) {
    std::string key =
        prefix.empty() ? std::string(name.str()) : prefix + "." + std::string(name.str());
    if (const toml::table* inner = node.as_table()) {
      flatten(*inner, key, file, out);
    } else {
      out.emplace_back(key, &node);
    }
  }
}

// A TOML array of GPU ordinals as the key's text ("0,2"); anything but integers is refused.
std::string device_list_text(const toml::array& array, const std::string& where) {
  std::string text;
  for (const toml::node& element : array) {
    if (!element.is_integer())
      throw Error(std::string(kGpuDevicesKey) +
                      " must be \"all\" or a list of GPU ordinals (integers such as [0, 2])",
                  where);
    text += (text.empty() ? "" : ",") + std::to_string(*element.value<int64_t>());
  }
  if (text.empty())
    throw Error(std::string(kGpuDevicesKey) + " is an empty list: name at least one GPU", where);
  return text;
}

}  // namespace

std::optional<std::vector<int>> parse_gpu_devices(std::string_view text, const std::string& where) {
  const std::string key(kGpuDevicesKey);
  if (text == "all")
    return std::nullopt;
  if (strings::trim(text).empty())
    throw Error(key + " is empty: \"all\" or a list of GPU ordinals such as [0, 2]", where);
  std::vector<int> devices;
  for (const std::string& part : strings::split(std::string(text), ',')) {
    std::string word(strings::trim(part));
    int64_t device = -1;
    auto [end, status] = std::from_chars(word.data(), word.data() + word.size(), device);
    if (word.empty() || status != std::errc() || end != word.data() + word.size())
      throw Error(key + " holds '" + word + "': \"all\" or GPU ordinals such as [0, 2]", where);
    if (device < 0 || device > kMaxGpuOrdinal)
      throw Error(
          key + " holds " + word + ": a GPU ordinal is 0 to " + std::to_string(kMaxGpuOrdinal),
          where);
    if (std::find(devices.begin(), devices.end(), device) != devices.end())
      throw Error(key + " names GPU " + word + " twice: one worker per GPU", where);
    devices.push_back(static_cast<int>(device));
  }
  return devices;
}

std::span<const ConfigKey> config_keys() {
  return keys();
}

bool config_key_matches(std::string_view key_name, std::string_view name) {
  size_t hole = key_name.find("<pattern>");
  if (hole == std::string_view::npos)
    return key_name == name;
  std::string_view before = key_name.substr(0, hole);
  std::string_view after = key_name.substr(hole + std::string_view("<pattern>").size());
  return name.size() > before.size() + after.size() && name.substr(0, before.size()) == before &&
         name.substr(name.size() - after.size()) == after;
}

Config::Config() {
  for (const ConfigKey& key : keys()) {
    if ((key.default_value.empty() && key.type == ConfigType::kString) || is_template(key))
      continue;
    values_[std::string(key.name)] = parse_value(key, key.default_value, "built-in defaults");
    sources_[std::string(key.name)] = "default";
  }
  // The one environment variable kforge's configuration reads, under the file and the flags.
  if (const char* python = std::getenv(kPythonVariable); python != nullptr && *python != '\0') {
    values_["python"] = std::string(python);
    sources_["python"] = std::string("environment (") + kPythonVariable + ")";
  }
}

const ConfigKey& Config::key_info(std::string_view name) const {
  if (const ConfigKey* key = find_key(name))
    return *key;
  auto names = key_names();
  throw Error(strings::unknown_name_message("configuration key", name, names));
}

Config Config::load(const std::filesystem::path& path) {
  Config config;
  toml::table table;
  try {
    // Read by kforge first, so that a FIFO or a device named kforge.toml is refused rather than
    // read forever; a configuration is a few hundred bytes.
    std::string text = files::read(path, 1 << 20);
    table = toml::parse(text, path.string());
  } catch (const toml::parse_error& failure) {
    const auto& begin = failure.source().begin;
    throw Error(
        "invalid TOML: " + std::string(failure.description()),
        path.string() + ":" + std::to_string(begin.line) + ":" + std::to_string(begin.column));
  }
  std::vector<std::pair<std::string, const toml::node*>> entries;
  flatten(table, "", path.string(), entries);
  auto names = key_names();
  for (const auto& [name, node] : entries) {
    std::string where = path.string() + ":" + std::to_string(node->source().begin.line);
    const ConfigKey* key = find_key(name);
    if (key == nullptr)
      throw Error(strings::unknown_name_message("configuration key", name, names), where);
    nlohmann::json value;
    switch (key->type) {
      case ConfigType::kString:
        if (auto text = node->value<std::string>())
          value = *text;
        else if (name == kGpuDevicesKey && node->is_array())
          value = device_list_text(*node->as_array(), where);
        else if (name == kGpuDevicesKey)
          throw Error(name + " must be \"all\" or a list of GPU ordinals such as [0, 2]", where);
        break;
      case ConfigType::kInteger:
        if (node->is_integer())
          value = *node->value<int64_t>();
        break;
      case ConfigType::kReal:
        if (node->is_number())
          value = *node->value<double>();
        break;
      case ConfigType::kBoolean:
        if (auto flag = node->value<bool>())
          value = *flag;
        break;
    }
    if (value.is_null())
      throw Error(name + " must be " + type_name(key->type), where);
    check_range(*key, value, where);
    check_choices(*key, name, value, where);
    if (name == kGpuDevicesKey)
      parse_gpu_devices(value.get<std::string>(), where);
    config.values_[name] = value;
    config.sources_[name] = path.string();
  }
  return config;
}

void Config::set(std::string_view name, std::string_view value) {
  const ConfigKey& key = key_info(name);
  nlohmann::json parsed = parse_value(key, value, "--" + std::string(name));
  check_range(key, parsed, "--" + std::string(name));
  check_choices(key, name, parsed, "--" + std::string(name));
  if (name == kGpuDevicesKey)
    parse_gpu_devices(parsed.get<std::string>(), "--" + std::string(name));
  values_[std::string(name)] = parsed;
  sources_[std::string(name)] = "flag";
}

bool Config::has(std::string_view name) const {
  key_info(name);
  return values_.contains(std::string(name));
}

std::string Config::string(std::string_view name) const {
  key_info(name);
  auto found = values_.find(std::string(name));
  return found == values_.end() ? std::string() : found->get<std::string>();
}

int64_t Config::integer(std::string_view name) const {
  key_info(name);
  return values_.at(std::string(name)).get<int64_t>();
}

double Config::real(std::string_view name) const {
  key_info(name);
  return values_.at(std::string(name)).get<double>();
}

bool Config::boolean(std::string_view name) const {
  key_info(name);
  return values_.at(std::string(name)).get<bool>();
}

std::string Config::source(std::string_view name) const {
  auto found = sources_.find(std::string(name));
  return found == sources_.end() ? "unset" : found->get<std::string>();
}

nlohmann::json Config::to_json() const {
  // Stored with every run: a password in the store's URL never is.
  nlohmann::json values = values_;
  if (values.contains("store.url") && values["store.url"].is_string())
    values["store.url"] = store_url::without_password(values["store.url"].get<std::string>());
  return values;
}

}  // namespace kforge
