// More connections to a workspace's store, for threads of their own (a store connection is used
// by one thread at a time): the lanes of a run's tasks, the GPU pool's devices, the heartbeat of
// a shared run's leases. They open the same store the workspace did: its SQLite file, or its
// PostgreSQL URL with the password where kforge.toml's store.url holds one (a URL on the command
// line never does).
#pragma once

#include <memory>
#include <string>

#include "harness/workspace.hpp"

namespace kforge {

// The store's location as opened: never print it (it may hold a password); print db_path().
std::string store_location(const Workspace& workspace);

// How another connection to the workspace's store opens it: the store must exist, and a
// PostgreSQL server is waited for store.retry_s.
StoreOptions another_store_options(const Workspace& workspace);

// Another connection to the workspace's store (which must exist), with store.retry_s.
std::unique_ptr<Store> open_another_store(const Workspace& workspace);

// For a node that joins a shared run (`--join`), before the store is opened (which would migrate
// it): an Error when the store's schema is older than this kforge's, since nodes of that older
// kforge may be working in it.
void refuse_older_schema_for_join(const Workspace& workspace);

}  // namespace kforge
