// PLACEHOLDER of the session's integration seam: branch `report` replaces this file with
// `kforge nightly report`. It must not reach a landed commit.
#include "cli/commands.hpp"

namespace kforge::cli {

void add_nightly_report_command(CLI::App& /*nightly*/, Context& /*context*/) {}

}  // namespace kforge::cli
