#include "harness/nightly/report_files.hpp"

#include <algorithm>

#include "harness/nightly/report_html.hpp"
#include "harness/nightly/report_markdown.hpp"
#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "harness/util/json_text.hpp"

namespace kforge::nightly {

namespace fs = std::filesystem;

namespace {

// A night's id names its files: one file name, no folder, nothing hidden.
void check_night_id(const std::string& night, const fs::path& folder) {
  if (night.empty() || night.find('/') != std::string::npos || night.front() == '.' ||
      night.find('\0') != std::string::npos)
    throw Error("a night's id must be a file name, got '" + night + "'", folder.string());
}

}  // namespace

NightReportFiles write_night_report(const NightReport& report, const fs::path& folder) {
  check_night_id(report.night, folder);
  files::ensure_directory(folder);
  NightReportFiles written;
  written.json = folder / (report.night + ".json");
  written.html = folder / (report.night + ".html");
  written.markdown = folder / (report.night + ".md");
  // The page and the summary first, the JSON document last: a night is listed (by its .json)
  // only once all three are there.
  files::write_atomic(written.html, render_night_html(report));
  files::write_atomic(written.markdown, render_night_markdown(report));
  files::write_atomic(written.json, json_text(to_json(report), 2) + "\n");
  return written;
}

std::vector<std::string> list_night_reports(const fs::path& folder) {
  std::vector<std::string> nights;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder, error))
    if (entry.is_regular_file() && entry.path().extension() == ".json" &&
        entry.path().stem().string().front() != '.')
      nights.push_back(entry.path().stem().string());
  if (error && error != std::errc::no_such_file_or_directory)
    throw Error("cannot list the night reports: " + error.message(), folder.string());
  std::sort(nights.begin(), nights.end());
  return nights;
}

NightReport read_night_report(const fs::path& folder, const std::string& night) {
  check_night_id(night, folder);
  fs::path path = folder / (night + ".json");
  if (!fs::exists(path))
    throw Error("no report of night '" + night + "'", path.string());
  nlohmann::json document =
      nlohmann::json::parse(files::read(path, 64u << 20), nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded())
    throw Error("not a JSON document", path.string());
  return night_report_from_json(document, path.string());
}

}  // namespace kforge::nightly
