// kforge.toml: the workspace's configuration. Every key kforge understands is a row of the
// table in config.cpp (name, type, default, help); `kforge config keys` prints that table, and
// an unknown key in a file is an error naming the file, the key and the nearest known key.
// Command-line flags override the file by setting the same keys.
#pragma once

#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kforge {

enum class ConfigType { kString, kInteger, kReal, kBoolean };

struct ConfigKey {
  std::string_view name;  // dotted: "llm.model"
  ConfigType type;
  // As TOML would write it; "" for no default. Taken from the options struct the key sets.
  std::string default_value;
  std::string_view help;
  // The allowed range of a number, both ends included; every integer and real key has one, and
  // a value outside it is refused where it is read (file and line, or flag), never clamped.
  double minimum = -std::numeric_limits<double>::infinity();
  double maximum = std::numeric_limits<double>::infinity();
  // The values a string key allows ("" among them where not sending is allowed); empty: any.
  std::vector<std::string> choices;
};

// A key with `<pattern>` in its name (`llm.models.<pattern>.thinking`) stands for one key per
// pattern the file names: `[llm.models."gpt-5*"] thinking = ...` sets `llm.models.gpt-5*.thinking`.
bool config_key_matches(std::string_view key_name, std::string_view name);

std::span<const ConfigKey> config_keys();

// Sets `python` under kforge.toml and the flags: how benchmarks and installs point kforge at a
// Python without writing a file. Nothing below the CLI reads the environment but through here.
inline constexpr const char* kPythonVariable = "KFORGE_PYTHON";

class Config {
 public:
  // Defaults, and `python` from $KFORGE_PYTHON where it is set.
  Config();
  // Defaults, overlaid with the file. Throws Error (file, line and key) for bad TOML, unknown
  // keys, values of the wrong type and numbers outside their key's range.
  static Config load(const std::filesystem::path& path);

  // Sets a key from a command-line flag or test; the value is parsed by the key's type.
  // Throws Error for an unknown key, a value that does not parse or a number out of range.
  void set(std::string_view key, std::string_view value);

  bool has(std::string_view key) const;
  std::string string(std::string_view key) const;
  int64_t integer(std::string_view key) const;
  double real(std::string_view key) const;
  bool boolean(std::string_view key) const;

  // Where each value came from: "default", the file's path, or "flag".
  std::string source(std::string_view key) const;
  // The effective configuration, for storing with a run.
  nlohmann::json to_json() const;

 private:
  const ConfigKey& key_info(std::string_view key) const;
  nlohmann::json values_ = nlohmann::json::object();
  nlohmann::json sources_ = nlohmann::json::object();
};

}  // namespace kforge
