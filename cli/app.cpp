#include "cli/app.hpp"

#include <cstdlib>
#include <iostream>

#include "cli/commands.hpp"
#include "harness/util/error.hpp"
#include "harness/util/strings.hpp"
#include "harness/util/version.hpp"

namespace kforge::cli {

int run(int argc, char** argv) {
  CLI::App app{"kforge: turn PyTorch programs into verified, profiled CUDA kernels", "kforge"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("kforge ") + kVersion + " (" + kGitCommit + ")");
  Context context;
  // The one read of KFORGE_GPU_WORKER: a test's replacement for the GPU worker.
  context.options.gpu_worker_command = gpu_worker_command_from(std::getenv("KFORGE_GPU_WORKER"));
  app.add_option("--workspace", context.options.workspace,
                 "workspace folder (default: the current folder)");
  app.add_option("--db", context.options.db,
                 "store to use: a SQLite file or a postgresql:// URL (default: store.url, else "
                 "<workspace>/kforge.db)");
  app.add_option("--python", context.options.python,
                 "Python interpreter with torch for the reference runner");
  app.add_flag("-q,--quiet", context.options.quiet, "no progress lines on stderr");
  for (const CommandEntry& command : commands())
    command.add(app, context);

  try {
    app.parse(argc, argv);
    return kExitOk;
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForAllHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForVersion& version) {
    return app.exit(version);
  } catch (const CLI::RuntimeError& exit) {
    return exit.get_exit_code();
  } catch (const CLI::ParseError& failure) {
    std::cerr << "kforge: usage error: " << strings::printable_line(failure.what())
              << " (see kforge --help)\n";
    return kExitUsage;
  } catch (const Error& failure) {
    std::cerr << "kforge: error: " << strings::printable_line(failure.what()) << "\n";
    return kExitError;
  } catch (const std::exception& failure) {
    std::cerr << "kforge: internal error: " << strings::printable_line(failure.what()) << "\n";
    return kExitError;
  }
}

}  // namespace kforge::cli
