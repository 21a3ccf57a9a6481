// The whole kforge command line: main() is one call to run().
#pragma once

namespace kforge::cli {

// Parses the arguments, runs the command, and returns the process exit code. Errors are
// caught here, once, and printed as `kforge: error: <what> (<where>)`.
int run(int argc, char** argv);

}  // namespace kforge::cli
