#include "agents/prompt.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

#include "harness/util/embedded.hpp"
#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "harness/util/strings.hpp"

namespace kforge::agents {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::array<std::string_view, 10> kTemplateNames = {
    "system",   "contract", "task", "history",     "history_entry",
    "feedback", "start",    "hint", "tune_system", "tune_start"};

std::string format_number(double value, const char* format) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), format, value);
  return buffer;
}

std::string speedup_suffix(const Feedback& feedback) {
  if (!feedback.speedup)
    return "";
  return ", speedup " + format_number(*feedback.speedup, "%.3g") + "x over PyTorch";
}

// The profile's section of a feedback turn, or nothing where the candidate was not profiled
// (the turn then reads as it did before profiles existed).
std::string profile_section(const Feedback& feedback) {
  if (feedback.profile.empty())
    return "";
  return "\n\nProfile of this candidate (hardware counters against the roofline):\n" +
         feedback.profile;
}

json shorten(const json& value, int depth) {
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    return text.size() > 1500 ? json(files::tail(text, 1500)) : value;
  }
  if (value.is_array()) {
    json out = json::array();
    for (size_t i = 0; i < value.size() && i < 8; ++i)
      out.push_back(shorten(value[i], depth + 1));
    if (value.size() > 8)
      out.push_back("... " + std::to_string(value.size() - 8) + " more");
    return out;
  }
  if (value.is_object()) {
    if (depth > 4)
      return "{...}";
    json out = json::object();
    for (const auto& [key, inner] : value.items())
      out[key] = shorten(inner, depth + 1);
    return out;
  }
  return value;
}

}  // namespace

std::span<const std::string_view> PromptLibrary::names() {
  return kTemplateNames;
}

PromptLibrary PromptLibrary::load(const std::optional<fs::path>& override_dir) {
  PromptLibrary library;
  for (std::string_view name : kTemplateNames) {
    std::string path = "agents/prompts/" + std::string(name) + ".md";
    auto text = embedded::find(path);
    if (!text)
      throw Error("the built-in prompt template is missing from the binary", path);
    library.texts_[std::string(name)] = std::string(*text);
    library.origins_[std::string(name)] = "built-in";
  }
  if (!override_dir)
    return library;
  std::error_code error;
  if (!fs::is_directory(*override_dir, error))
    throw Error("the prompt template folder does not exist", override_dir->string());
  std::vector<std::string> allowed(kTemplateNames.begin(), kTemplateNames.end());
  for (const auto& entry : fs::directory_iterator(*override_dir)) {
    if (entry.path().extension() != ".md")
      continue;
    std::string stem = entry.path().stem().string();
    if (!library.texts_.contains(stem))
      throw Error(strings::unknown_name_message("prompt template", stem, allowed),
                  entry.path().string());
    library.texts_[stem] = files::read(entry.path());
    library.origins_[stem] = entry.path().string();
  }
  return library;
}

std::string PromptLibrary::origin(std::string_view name) const {
  auto found = origins_.find(name);
  return found == origins_.end() ? "" : found->second;
}

std::string PromptLibrary::render(std::string_view name,
                                  const std::map<std::string, std::string>& values) const {
  auto found = texts_.find(name);
  if (found == texts_.end())
    throw Error("no prompt template named '" + std::string(name) + "'");
  const std::string& text = found->second;
  std::string out;
  size_t position = 0;
  while (true) {
    size_t open = text.find("{{", position);
    if (open == std::string::npos) {
      out.append(text, position);
      break;
    }
    size_t close = text.find("}}", open + 2);
    if (close == std::string::npos) {
      out.append(text, position);
      break;
    }
    std::string key(strings::trim(std::string_view(text).substr(open + 2, close - open - 2)));
    auto value = values.find(key);
    if (value == values.end()) {
      size_t line = 1 + std::count(text.begin(), text.begin() + open, '\n');
      std::vector<std::string> known;
      for (const auto& [known_key, ignored] : values)
        known.push_back(known_key);
      throw Error(strings::unknown_name_message("prompt placeholder", key, known),
                  origin(name) == "built-in"
                      ? "agents/prompts/" + std::string(name) + ".md:" + std::to_string(line)
                      : origin(name) + ":" + std::to_string(line));
    }
    out.append(text, position, open - position);
    out.append(value->second);
    position = close + 2;
  }
  return out;
}

std::string summarize_evidence(const json& evidence, size_t max_bytes) {
  if (evidence.is_null() || (evidence.is_object() && evidence.empty()))
    return "(no further evidence)";
  std::string text = shorten(evidence, 0).dump(1);
  if (text.size() > max_bytes)
    text = text.substr(0, max_bytes) + "\n... (evidence cut to " + std::to_string(max_bytes) +
           " bytes)";
  return "Evidence:\n```json\n" + text + "\n```";
}

PromptBuilder::PromptBuilder(PromptLibrary library, TaskView task, GpuTarget gpu)
    : library_(std::move(library)), task_(std::move(task)), gpu_(std::move(gpu)) {}

std::string gpu_description(const GpuTarget& gpu) {
  return "- name: " + gpu.name + "\n- architecture: " + gpu.architecture +
         "\n- streaming multiprocessors: " + std::to_string(gpu.sm_count) +
         "\n- memory bandwidth: " +
         (gpu.memory_bandwidth_gb_s > 0 ? format_number(gpu.memory_bandwidth_gb_s, "%.0f") + " GB/s"
                                        : std::string("unknown")) +
         "\n- shared memory per block: " + std::to_string(gpu.shared_memory_per_block_bytes) +
         " bytes\n";
}

Conversation PromptBuilder::first(std::span<const HistoryEntry> history) const {
  std::string contract = library_.render("contract", {});
  Conversation conversation;
  conversation.system =
      library_.render("system", {{"contract", contract}, {"gpu_architecture", gpu_.architecture}});

  std::string gpu = gpu_description(gpu_);
  std::string shown;
  if (!history.empty()) {
    std::string entries;
    for (const HistoryEntry& entry : history) {
      entries += library_.render("history_entry",
                                 {{"id", entry.id},
                                  {"verdict", std::string(entry.feedback.result_name())},
                                  {"speedup", speedup_suffix(entry.feedback)},
                                  {"source", entry.source.empty() ? "(no code)" : entry.source},
                                  {"evidence", summarize_evidence(entry.feedback.evidence)},
                                  {"profile", profile_section(entry.feedback)}});
    }
    shown = library_.render("history", {{"entries", entries}});
  }
  conversation.messages.push_back(
      {"user", library_.render("task", {{"task_name", task_.name},
                                        {"task_source", task_.source},
                                        {"signature", task_.signature.dump(1)},
                                        {"gpu", gpu},
                                        {"history", shown}})});
  if (!start_)
    return conversation;
  std::string hint = start_->hint.empty() ? "" : library_.render("hint", {{"hint", start_->hint}});
  if (start_->source.empty()) {
    conversation.messages.back().content += hint;
    return conversation;
  }
  // The engineer's candidate as the answer before, and what became of it: a refine step.
  conversation.messages.push_back(
      {"assistant",
       library_.render("start", {{"file_name", start_->file_name}, {"source", start_->source}})});
  conversation.messages.push_back(
      {"user", (start_->feedback ? feedback(*start_->feedback) : std::string()) + hint});
  return conversation;
}

PromptBuilder PromptBuilder::with_start(StartingPoint start) const {
  PromptBuilder copy = *this;
  copy.start_ = std::move(start);
  return copy;
}

std::string PromptBuilder::feedback(const Feedback& feedback) const {
  std::string instruction;
  if (feedback.judged(Verdict::kCorrect))
    instruction = "The candidate is correct. Make it faster without breaking correctness.";
  else if (feedback.judged(Verdict::kCompiled))
    instruction =
        "The candidate compiled and its plan fits, but no GPU ran it. Review it for correctness "
        "and speed.";
  else if (feedback.outcome == Outcome::kNoCandidate)
    instruction = "No usable candidate was found in your answer. Follow the answer format.";
  else
    instruction = "Find the cause of this failure and fix it.";
  return library_.render("feedback", {{"verdict", std::string(feedback.result_name())},
                                      {"speedup", speedup_suffix(feedback)},
                                      {"evidence", summarize_evidence(feedback.evidence)},
                                      {"profile", profile_section(feedback)},
                                      {"instruction", instruction}});
}

}  // namespace kforge::agents
