// A workspace's kforge.toml, loaded as `Config::load` loads it (from a file: here an in-memory
// one), then every key read back with its type's getter.
// Allowed failures: kforge::Error (file, line and key). Anything else is a finding.
#include <cstdint>

#include "harness/config.hpp"
#include "harness/util/error.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kforge;
  static fuzz::MemoryFile file("kforge.toml");
  file.write(fuzz::as_text(data, size));
  try {
    Config config = Config::load(file.path());
    for (const ConfigKey& key : config_keys()) {
      if (!config.has(key.name))
        continue;
      switch (key.type) {
        case ConfigType::kString:
          (void)config.string(key.name);
          break;
        case ConfigType::kInteger:
          (void)config.integer(key.name);
          break;
        case ConfigType::kReal:
          (void)config.real(key.name);
          break;
        case ConfigType::kBoolean:
          (void)config.boolean(key.name);
          break;
      }
      (void)config.source(key.name);
    }
    (void)config.to_json().dump();
  } catch (const Error& error) {
    (void)error.what();
  }
  return 0;
}
