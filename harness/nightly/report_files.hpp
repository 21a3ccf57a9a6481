// Where a night's report lives: `<folder>/<night>.json` (the NightReport document), beside it
// `<night>.html` (self-contained: inline styles and SVG plots, no network) and `<night>.md` (a
// short summary for a CI comment or a mail). The night's engine writes them at the end of every
// night, `kforge nightly report` lists and reads them.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "harness/nightly/night_report.hpp"

namespace kforge::nightly {

struct NightReportFiles {
  std::filesystem::path json;
  std::filesystem::path html;
  std::filesystem::path markdown;
};

// Writes the night's report files into `folder` (made if missing), each atomically: the page
// (report_html), the summary (report_markdown), and the JSON document last, so that a night is
// listed only when all three are there. The night's id must be a file name.
NightReportFiles write_night_report(const NightReport& report, const std::filesystem::path& folder);

// The nights whose reports (<night>.json) are in `folder`, oldest first: in the order of their
// ids, which the night's engine makes sortable. None when the folder does not exist.
std::vector<std::string> list_night_reports(const std::filesystem::path& folder);

// The report of `night` in `folder`; an Error naming the file when it is missing or malformed,
// or naming the folder when `night` is not a file name.
NightReport read_night_report(const std::filesystem::path& folder, const std::string& night);

}  // namespace kforge::nightly
