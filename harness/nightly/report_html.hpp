// The night's report as one self-contained HTML page: inline styles and inline SVG plots, no
// script, no request to the network (its Content-Security-Policy forbids both), every string
// from the store escaped. Read top-down in the order a kernel engineer asks: did anything
// regress, what got faster or was promoted, how each task's best speedup over eager and
// torch.compile moved across nights, how far tuning got, what failed and why, what the LLM
// cost, what changed in the environment; the night's steps last.
#pragma once

#include <string>
#include <vector>

#include "harness/nightly/night_report.hpp"

namespace kforge::nightly {

// The ids of the page's sections (<section id="...">), in the order it shows them.
std::vector<std::string> night_report_section_ids();

std::string render_night_html(const NightReport& report);

}  // namespace kforge::nightly
