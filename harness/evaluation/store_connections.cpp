#include "harness/evaluation/store_connections.hpp"

#include "datasets/store_schema.hpp"
#include "harness/util/error.hpp"
#include "harness/util/store_url.hpp"

namespace kforge {

std::string store_location(const Workspace& workspace) {
  const std::string shown = workspace.db_path().string();
  if (!workspace.store_is_postgres())
    return shown;
  // db_path() is the URL without its password; only store.url may have held one.
  const Config& config = workspace.config();
  if (config.has("store.url")) {
    std::string url = config.string("store.url");
    if (store_url::without_password(url) == shown)
      return url;
  }
  return shown;
}

StoreOptions another_store_options(const Workspace& workspace) {
  return {.create = false,
          .retry_seconds = static_cast<double>(workspace.config().integer("store.retry_s"))};
}

std::unique_ptr<Store> open_another_store(const Workspace& workspace) {
  return Store::open_location(store_location(workspace), another_store_options(workspace));
}

void refuse_older_schema_for_join(const Workspace& workspace) {
  const int found = stored_schema_version(
      store_location(workspace), static_cast<double>(workspace.config().integer("store.retry_s")));
  if (found != 0 && found < Store::latest_schema_version())
    throw Error("the store has schema version " + std::to_string(found) +
                    ", older than this kforge's (" +
                    std::to_string(Store::latest_schema_version()) +
                    "), and other nodes may be running that older kforge: join with the kforge "
                    "version they run (any other command migrates the store)",
                workspace.db_path().string());
}

}  // namespace kforge
