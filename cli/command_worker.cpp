// `kforge worker compile`: the hidden entry point of a compile worker process, started by the
// compile pool (sandbox/compile_pool.hpp), never by people. Its protocol is in
// sandbox/compile_worker.hpp.
#include <iostream>

#include "cli/commands.hpp"
#include "sandbox/compile_worker.hpp"

namespace kforge::cli {

void add_worker_command(CLI::App& parent, Context& context) {
  auto* command = parent.add_subcommand("worker", "internal: a sandboxed worker process");
  command->group("");  // hidden from --help: only kforge itself starts workers
  command->require_subcommand(1);
  auto* compile = command->add_subcommand(
      "compile", "serve NVRTC compile requests, one JSON line in and one out, until stdin ends");
  compile->callback([] {
    std::ios::sync_with_stdio(false);
    int code = run_compile_worker(std::cin, std::cout);
    if (code != 0)
      throw CLI::RuntimeError(code);
  });
}

}  // namespace kforge::cli
