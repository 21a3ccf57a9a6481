// `kforge db copy FROM TO`: moves a store between SQLite and PostgreSQL (either way), in one
// transaction on the target (datasets/store_copy.hpp).
#include <filesystem>

#include "cli/commands.hpp"
#include "datasets/store_copy.hpp"
#include "harness/util/error.hpp"
#include "harness/util/store_url.hpp"

namespace kforge::cli {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<Store> open_store(Workspace& workspace, const std::string& location, bool create) {
  refuse_command_line_password(location);
  StoreOptions options{
      .create = create,
      .retry_seconds = static_cast<double>(workspace.config().integer("store.retry_s"))};
  if (store_url::is_postgres(location))
    return Store::open_location(location, options);
  return Store::open(fs::absolute(location), create);
}

}  // namespace

void add_db_command(CLI::App& parent, Context& context) {
  auto* group = parent.add_subcommand("db", "work on whole stores (SQLite files, PostgreSQL)");
  group->require_subcommand(1);
  auto* copy = group->add_subcommand(
      "copy", "copy every row of store FROM into store TO (a SQLite file or a postgresql:// URL)");
  struct Options {
    std::string from;
    std::string to;
    bool replace = false;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  copy->add_option("FROM", options->from, "the store to read: a SQLite file or a postgresql:// URL")
      ->required();
  copy->add_option("TO", options->to,
                   "the store to fill, created when missing; it must be empty unless --replace")
      ->required();
  copy->add_flag("--replace", options->replace,
                 "delete the target's rows first (in the same transaction)");
  copy->add_flag("--json", options->json, "print one JSON object");
  copy->callback([options, &context] {
    Workspace& workspace = context.workspace();
    std::unique_ptr<Store> from = open_store(workspace, options->from, false);
    std::unique_ptr<Store> to = open_store(workspace, options->to, true);
    StoreCopyResult result = copy_store(*from, *to, options->replace);
    if (options->json) {
      nlohmann::json tables = nlohmann::json::object();
      for (const auto& [table, rows] : result.rows)
        tables[table] = rows;
      Context::print_json({{"from", from->location()},
                           {"to", to->location()},
                           {"schema_version", to->schema_version()},
                           {"rows", result.total},
                           {"tables", tables}});
      return;
    }
    print("copied %lld rows from %s to %s (schema %d)\n", static_cast<long long>(result.total),
          from->location().c_str(), to->location().c_str(), to->schema_version());
    for (const auto& [table, rows] : result.rows)
      print("  %-20s %lld\n", table.c_str(), static_cast<long long>(rows));
  });
}

}  // namespace kforge::cli
