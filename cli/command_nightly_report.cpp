// kforge nightly report [NIGHT] [--json | --html] [--dir FOLDER]: the nights' reports.
// Without NIGHT: the nights whose reports are in the folder, newest last, each with its outcome
// and counts. With NIGHT: its Markdown summary (as a CI comment or a mail would show it), or
// `--json` the report's JSON document, or `--html` the path of its page.
// The folder: --dir, else the configuration's nightly.report_dir under the workspace.
#include <algorithm>
#include <filesystem>

#include "cli/commands.hpp"
#include "harness/nightly/report_files.hpp"
#include "harness/nightly/report_markdown.hpp"
#include "harness/nightly/report_summary.hpp"
#include "harness/util/error.hpp"

namespace kforge::cli {
namespace {

namespace fs = std::filesystem;
using nightly::NightReport;

struct ReportOptions {
  std::string night;
  std::string dir;
  bool json = false;
  bool html = false;
};

fs::path report_folder(Context& context, const std::string& flag) {
  if (!flag.empty())
    return flag;
  Workspace& workspace = context.workspace();
  // An absolute nightly.report_dir stays as it is; a relative one is under the workspace.
  return workspace.root() / workspace.config().string("nightly.report_dir");
}

// One listed night: its report's figures, or why it could not be read.
struct ListedNight {
  std::string night;
  std::optional<NightReport> report;
  std::string error;
};

std::vector<ListedNight> list_nights(const fs::path& folder) {
  std::vector<ListedNight> listed;
  for (const std::string& night : nightly::list_night_reports(folder)) {
    ListedNight entry{night, std::nullopt, ""};
    try {
      entry.report = nightly::read_night_report(folder, night);
    } catch (const Error& error) {
      entry.error = error.what();
    }
    listed.push_back(std::move(entry));
  }
  return listed;
}

nlohmann::json listed_json(const ListedNight& entry) {
  if (!entry.report)
    return {{"night", entry.night}, {"error", entry.error}};
  const NightReport& report = *entry.report;
  nightly::NightCounts counts = nightly::count_night(report);
  return {{"night", entry.night},
          {"outcome", nightly::night_outcome_name(report.outcome)},
          {"exit_code", nightly::night_exit_code(report)},
          {"started_at", report.started_at},
          {"finished_at", report.finished_at},
          {"regressions", counts.regressions},
          {"promotions", counts.promotions},
          {"improvements", counts.improvements},
          {"failures", counts.failures}};
}

void print_listing(const fs::path& folder, const std::vector<ListedNight>& nights, bool json) {
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const ListedNight& entry : nights)
      out.push_back(listed_json(entry));
    return Context::print_json({{"folder", folder.string()}, {"nights", out}});
  }
  if (nights.empty()) {
    print("no night reports in %s\n", folder.string().c_str());
    return;
  }
  print("%-24s  %-14s  %11s  %10s  %12s  %8s  %s\n", "night", "outcome", "regressions",
        "promotions", "improvements", "failures", "started");
  for (const ListedNight& entry : nights) {
    if (!entry.report) {
      print("%-24s  %-14s  %s\n", entry.night.c_str(), "unreadable", entry.error.c_str());
      continue;
    }
    nightly::NightCounts counts = nightly::count_night(*entry.report);
    print("%-24s  %-14s  %11zu  %10zu  %12zu  %8zu  %s\n", entry.night.c_str(),
          nightly::night_outcome_name(entry.report->outcome), counts.regressions, counts.promotions,
          counts.improvements, counts.failures, entry.report->started_at.c_str());
  }
}

void show_night(const fs::path& folder, const ReportOptions& options) {
  NightReport report = nightly::read_night_report(folder, options.night);
  if (options.json)
    return Context::print_json(nightly::to_json(report));
  if (options.html) {
    fs::path page = folder / (options.night + ".html");
    if (!fs::is_regular_file(page))
      throw Error("night '" + options.night + "' has no page", page.string());
    print("%s\n", fs::absolute(page).lexically_normal().string().c_str());
    return;
  }
  print("%s", nightly::render_night_markdown(report).c_str());
}

}  // namespace

void add_nightly_report_command(CLI::App& nightly, Context& context) {
  auto* command = nightly.add_subcommand(
      "report", "list the nights' reports, or show one night's summary, JSON document or page");
  auto options = std::make_shared<ReportOptions>();
  command->add_option("night", options->night, "the night to show (its id, as listed)");
  command->add_option("--dir", options->dir,
                      "the report folder (default: nightly.report_dir under the workspace)");
  auto* json = command->add_flag("--json", options->json,
                                 "print JSON: the night's report document, or the listing");
  command->add_flag("--html", options->html, "print the path of the night's HTML page")
      ->excludes(json);
  command->callback([options, &context] {
    const fs::path folder = report_folder(context, options->dir);
    if (options->night.empty()) {
      if (options->html)
        throw Error("--html needs a night", "kforge nightly report");
      return print_listing(folder, list_nights(folder), options->json);
    }
    show_night(folder, *options);
  });
}

}  // namespace kforge::cli
