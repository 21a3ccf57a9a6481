// What every child process kforge starts has in common, in one place: it dies with kforge, it
// sees only an allowed list of environment variables, and it is started from one long-lived
// thread. Used by run_process (subprocess.hpp) and by the sandbox's worker processes.
//
// Dying with the parent: the child asks the kernel for SIGKILL when its parent goes
// (PR_SET_PDEATHSIG), then checks that its parent is still the one that forked it, which closes
// the race with a parent that died before the request. The kernel sends that signal when the
// *thread* that forked the child ends, not the process, so every child is started from one
// thread that lives as long as kforge (start_child_on_spawning_thread); a compile worker
// replaced from a short-lived thread would otherwise be killed when that thread ends.
#pragma once

#include <dirent.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

// After <memory> and <dirent.h>, which this Boost header uses without including them.
#include <boost/process/extend.hpp>

namespace kforge {

// The environment a child gets: the variables on the allowed list (paths, locale, temporary
// folder, Python's and CUDA's own, KFORGE_*), taken from this process, never a variable whose
// name looks like a secret (KEY, TOKEN, SECRET, PASSWORD, CREDENTIAL, in any case) nor one
// named in `also_refused` (the configured llm.api_key_env). A task's Python and the workers
// run with this, so an imported task cannot read an API key from its environment.
std::map<std::string, std::string> minimal_environment(
    const std::vector<std::string>& also_refused = {});

// True when a variable of this name may reach a child (the allowed list, without secrets).
bool is_allowed_in_child_environment(const std::string& name);

// Runs `start` (which forks a child) on the one thread kept for starting children, and waits
// for it; an exception it throws is rethrown here.
void start_child_on_spawning_thread(const std::function<void()>& start);

// A Boost.Process initializer run in the child between fork and exec: dies with the parent,
// optionally in a process group of its own (so that the parent can kill its children too) and
// with an address-space limit. Only async-signal-safe calls.
struct ChildSetup : boost::process::extend::handler {
  pid_t parent = ::getpid();
  bool own_process_group = false;
  rlim_t address_space_bytes = 0;  // 0: no limit

  template <class Executor>
  void on_exec_setup(Executor&) const {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent)
      ::_exit(127);  // the parent died before the request above: nobody waits for us
    if (own_process_group)
      ::setpgid(0, 0);
    if (address_space_bytes != 0) {
      rlimit limit{address_space_bytes, address_space_bytes};
      ::setrlimit(RLIMIT_AS, &limit);
    }
  }
};

}  // namespace kforge
