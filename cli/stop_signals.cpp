#include "cli/stop_signals.hpp"

namespace kforge::cli {
namespace {

// Namespace scope, constant-initialised: the handler touches nothing that needs construction.
std::atomic<bool> stop_flag{false};

extern "C" void on_stop_signal(int signal_number) {
  stop_flag.store(true);
  ::signal(signal_number, SIG_DFL);
}

}  // namespace

std::atomic<bool>& stop_requested() {
  return stop_flag;
}

StopSignals::StopSignals() {
  stop_flag.store(false);
  // No SA_RESTART: a blocking wait (poll) returns EINTR, so a waiting command sees the flag.
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, &previous_int_);
  ::sigaction(SIGTERM, &action, &previous_term_);
}

StopSignals::~StopSignals() {
  ::sigaction(SIGINT, &previous_int_, nullptr);
  ::sigaction(SIGTERM, &previous_term_, nullptr);
}

}  // namespace kforge::cli
