// JSON documents as text, for the store, the worker pipes and `--json` output. nlohmann's dump
// throws on a string that is not valid UTF-8; text that comes from outside (a file name, a
// compiler log, a worker's stderr, a model's answer) is written with each byte that is not
// UTF-8 replaced by U+FFFD instead, so one odd byte never ends a run or loses a result.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace kforge {

std::string json_text(const nlohmann::json& value, int indent = -1);

}  // namespace kforge
