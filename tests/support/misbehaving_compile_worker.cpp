// A compile worker that misbehaves on command, for the compile pool's supervision tests (the
// compile side's counterpart of misbehaving_gpu_worker.py). It speaks the real protocol through
// sandbox/compile_worker.hpp's CompileWorker and compiles with the real NVRTC, except for a
// request whose source holds the line `// kforge-test-fault: NAME`:
//
//   crash     SIGSEGV                    abort     SIGABRT
//   hang      sleeps until killed        garbage   a line that is not JSON
//   partial   half a reply, then exits   wrong_id  a reply to another request
//   allocate  allocates memory until the address-space limit stops it
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "sandbox/compile_worker.hpp"

namespace {

constexpr std::string_view kMarker = "// kforge-test-fault: ";

// The fault a request's source asks for, or "".
std::string fault_of(const std::string& line) {
  nlohmann::json request = nlohmann::json::parse(line, nullptr, false);
  if (!request.is_object() || !request.contains("source") || !request["source"].is_string())
    return "";
  const std::string& source = request["source"].get_ref<const std::string&>();
  size_t at = source.find(kMarker);
  if (at == std::string::npos)
    return "";
  size_t start = at + kMarker.size();
  return source.substr(start, source.find('\n', start) - start);
}

void misbehave(const std::string& fault, const std::string& line) {
  nlohmann::json id = nlohmann::json::parse(line).value("id", nlohmann::json());
  if (fault == "crash") {
    std::raise(SIGSEGV);
  } else if (fault == "abort") {
    std::abort();
  } else if (fault == "hang") {
    for (;;)
      std::this_thread::sleep_for(std::chrono::hours(1));
  } else if (fault == "garbage") {
    std::cout << "this is not a JSON reply\n" << std::flush;
  } else if (fault == "partial") {
    std::cout << "{\"id\":" << id.dump() << ",\"status\":\"o" << std::flush;
    _exit(0);
  } else if (fault == "wrong_id") {
    kforge::write_worker_line(std::cout, {{"id", -12345}, {"status", "ok"}});
  } else if (fault == "allocate") {
    // Kept reachable and touched, so that the allocations cannot be optimised away.
    static std::vector<char*> blocks;
    for (;;) {
      auto* block = static_cast<char*>(std::malloc(64 << 20));
      if (block == nullptr)
        std::abort();  // as a compiler does when an allocation it cannot do without fails
      std::memset(block, 1, 64 << 20);
      blocks.push_back(block);
    }
  } else {
    std::cerr << "misbehaving_compile_worker: unknown fault '" << fault << "'\n";
    std::exit(2);
  }
}

}  // namespace

int main() {
  std::signal(SIGINT, SIG_IGN);
  kforge::CompileWorker worker;
  kforge::write_worker_line(std::cout, worker.hello());
  if (!worker.ready())
    return 1;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty())
      continue;
    if (std::string fault = fault_of(line); !fault.empty())
      misbehave(fault, line);
    else
      kforge::write_worker_line(std::cout, worker.serve(line));
  }
  return 0;
}
