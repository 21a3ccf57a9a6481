#include "sandbox/ptxas_report.hpp"

#include <charconv>
#include <optional>

#include "harness/util/strings.hpp"

namespace kforge {
namespace {

std::optional<int64_t> leading_number(std::string_view text) {
  text = strings::trim(text);
  int64_t value = 0;
  auto [end, status] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (status != std::errc() || end == text.data())
    return std::nullopt;
  return value;
}

// The text after the last "ptxas ... :" or "ptxas ... ." prefix of a report line.
std::string_view report_body(std::string_view line) {
  size_t colon = line.find(" : ");
  if (colon != std::string_view::npos)
    return line.substr(colon + 3);
  size_t dot = line.find(" . ");
  if (dot != std::string_view::npos)
    return line.substr(dot + 3);
  return {};
}

std::string quoted_name(std::string_view text) {
  size_t open = text.find('\'');
  if (open == std::string_view::npos)
    return {};
  size_t close = text.find('\'', open + 1);
  if (close == std::string_view::npos)
    return {};
  return std::string(text.substr(open + 1, close - open - 1));
}

// "1024 bytes smem", "Used 10 registers", "used 1 barriers", "0 bytes spill stores", ...
void apply_item(std::string_view item, KernelResources& kernel) {
  item = strings::trim(item);
  auto ends_with = [&](std::string_view suffix) {
    return item.size() >= suffix.size() && item.substr(item.size() - suffix.size()) == suffix;
  };
  if (item.starts_with("Used ") || item.starts_with("used ")) {
    auto number = leading_number(item.substr(5));
    if (!number)
      return;
    if (ends_with("registers"))
      kernel.registers = static_cast<int>(*number);
    else if (ends_with("barriers"))
      kernel.barriers = static_cast<int>(*number);
    return;
  }
  auto number = leading_number(item);
  if (!number)
    return;
  if (ends_with("bytes smem"))
    kernel.shared_bytes = *number;
  else if (ends_with("bytes cmem[0]"))
    kernel.constant_bytes = *number;
  else if (ends_with("bytes stack frame"))
    kernel.stack_frame_bytes = *number;
  else if (ends_with("bytes spill stores"))
    kernel.spill_store_bytes = *number;
  else if (ends_with("bytes spill loads"))
    kernel.spill_load_bytes = *number;
  else if (ends_with("bytes lmem"))
    kernel.local_bytes = *number;
  else if (ends_with("bytes cumulative stack size") && kernel.local_bytes < 0)
    kernel.local_bytes = *number;
}

}  // namespace

std::vector<KernelResources> parse_ptxas_report(std::string_view log) {
  std::vector<KernelResources> kernels;
  KernelResources* current = nullptr;
  bool properties_of_current = false;
  for (const std::string& raw : strings::split(log, '\n')) {
    std::string_view line = strings::trim(raw);
    if (!line.starts_with("ptxas"))
      continue;
    std::string_view body = report_body(line);
    if (body.starts_with("Compiling entry function")) {
      kernels.push_back(KernelResources{.name = quoted_name(body)});
      current = &kernels.back();
      properties_of_current = false;
    } else if (body.starts_with("Function properties for ")) {
      std::string_view name = strings::trim(body.substr(24));
      properties_of_current = current != nullptr && name == current->name;
    } else if (body.starts_with("Compiling function") || body.starts_with("Compile time")) {
      properties_of_current = properties_of_current && body.starts_with("Compile time");
    } else if (current != nullptr) {
      bool is_usage = body.starts_with("Used ");
      if (!is_usage && !properties_of_current)
        continue;
      for (const std::string& item : strings::split(body, ','))
        apply_item(item, *current);
    }
  }
  for (KernelResources& kernel : kernels) {
    if (kernel.local_bytes < 0 && kernel.stack_frame_bytes >= 0)
      kernel.local_bytes = kernel.stack_frame_bytes;
  }
  return kernels;
}

}  // namespace kforge
