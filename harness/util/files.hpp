// Reading and writing whole files, with errors that name the path.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace kforge::files {

namespace fs = std::filesystem;

// The whole file; throws Error naming the path if it cannot be read or is not a regular file
// (a FIFO would block the read forever, a device such as /dev/zero never ends).
std::string read(const fs::path& path);

// As read, and a file over `max_bytes` is an Error too: for files a user hands kforge (a
// candidate, a task, a manifest), whose size is checked before anything is read.
std::string read(const fs::path& path, size_t max_bytes);

// Writes `contents` so that readers see either the old file or the whole new one, never a
// part: a temporary file beside it, flushed to disk, then renamed over `path`.
void write_atomic(const fs::path& path, std::string_view contents);

// Creates `dir` and its parents if missing; throws Error naming it if that fails.
void ensure_directory(const fs::path& dir);

// The last `max_bytes` of `text`, cut at a line start when possible, with a marker saying how
// much was dropped. For logs and tracebacks that must stay readable in a one-screen report.
std::string tail(std::string_view text, size_t max_bytes);

}  // namespace kforge::files
