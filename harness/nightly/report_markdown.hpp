// The night's short summary in Markdown, for a CI comment or a mail: the headline, then
// regressions, promotions and improvements, failures and the environment's changes, each list
// cut at kSummaryRows with a pointer to the page for the rest. Every string from the store is
// escaped (markdown_escaped), so a task's name cannot open a link, an image or raw HTML.
#pragma once

#include <string>

#include "harness/nightly/night_report.hpp"

namespace kforge::nightly {

inline constexpr size_t kSummaryRows = 10;

std::string render_night_markdown(const NightReport& report);

}  // namespace kforge::nightly
