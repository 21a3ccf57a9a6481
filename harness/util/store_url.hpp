// Store locations as text: a SQLite file's path, or a PostgreSQL URL (postgresql://... or
// postgres://...). A URL may hold a password (postgresql://user:secret@host/db, or
// ?password=secret); every message, log line and stored row shows it through
// without_password(), which replaces the password with "***".
#pragma once

#include <string>
#include <string_view>

namespace kforge::store_url {

// True for postgresql:// and postgres:// URLs.
bool is_postgres(std::string_view location);

// True when the URL carries a password (in its user part or as a password= parameter).
bool has_password(std::string_view url);

// The URL with any password replaced by "***"; text that is not a URL comes back unchanged.
std::string without_password(std::string_view location);

}  // namespace kforge::store_url
