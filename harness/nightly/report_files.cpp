#include "harness/nightly/report_files.hpp"

#include <algorithm>

#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "harness/util/json_text.hpp"

namespace kforge::nightly {

namespace fs = std::filesystem;

NightReportFiles write_night_report(const NightReport& report, const fs::path& folder) {
  if (report.night.empty() || report.night.find('/') != std::string::npos)
    throw Error("a night's id must be a non-empty file name, got '" + report.night + "'",
                folder.string());
  files::ensure_directory(folder);
  NightReportFiles written;
  written.json = folder / (report.night + ".json");
  files::write_atomic(written.json, json_text(to_json(report), 2) + "\n");
  // The HTML page and the Markdown summary come with their renderers.
  return written;
}

std::vector<std::string> list_night_reports(const fs::path& folder) {
  std::vector<std::string> nights;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder, error))
    if (entry.is_regular_file() && entry.path().extension() == ".json")
      nights.push_back(entry.path().stem().string());
  if (error && error != std::errc::no_such_file_or_directory)
    throw Error("cannot list the night reports: " + error.message(), folder.string());
  std::sort(nights.begin(), nights.end());
  return nights;
}

NightReport read_night_report(const fs::path& folder, const std::string& night) {
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
