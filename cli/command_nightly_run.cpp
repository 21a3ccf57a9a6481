// PLACEHOLDER of the session's integration seam: branch `nightly` replaces this file with the
// night itself. It must not reach a landed commit.
#include "cli/commands.hpp"
#include "harness/util/error.hpp"

namespace kforge::cli {

void add_nightly_run(CLI::App& nightly, Context& /*context*/) {
  nightly.callback([] { throw Error("the night is not built yet", "kforge nightly"); });
}

}  // namespace kforge::cli
