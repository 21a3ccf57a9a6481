// Ctrl-C (SIGINT) and SIGTERM for the commands that wind down cleanly (optimize, watch): the
// first sets the stop flag, and the handler puts the default action back, so that a second ends
// kforge at once (the store stays intact: every write is a committed transaction).
#pragma once

#include <signal.h>

#include <atomic>

namespace kforge::cli {

// Set by the first signal while a StopSignals is installed.
std::atomic<bool>& stop_requested();

// Installs the handler for its lifetime (and clears the flag); the previous handlers come back
// when it goes.
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  struct sigaction previous_int_ {};
  struct sigaction previous_term_ {};
};

}  // namespace kforge::cli
