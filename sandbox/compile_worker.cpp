#include "sandbox/compile_worker.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "harness/util/error.hpp"
#include "sandbox/nvrtc_api.hpp"
#include "sandbox/nvrtc_compiler.hpp"

namespace kforge {
namespace fs = std::filesystem;
namespace {

void send(std::ostream& out, const nlohmann::json& message) {
  // Replacing invalid UTF-8 keeps a reply parseable whatever NVRTC put in its log.
  out << message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  out.flush();
}

CompileRequest request_from_json(const nlohmann::json& document) {
  CompileRequest request;
  request.source = document.at("source").get<std::string>();
  request.name = document.value("name", request.name);
  request.arch = document.value("arch", request.arch);
  if (auto defines = document.find("defines"); defines != document.end()) {
    for (const auto& [name, value] : defines->items())
      request.defines[name] = value.get<std::string>();
  }
  if (auto options = document.find("options"); options != document.end())
    request.options = options->get<std::vector<std::string>>();
  return request;
}

// Test-only misbehaviour; see the header.
void misbehave(const std::string& fault, std::ostream& out, const nlohmann::json& id) {
  if (fault == "crash") {
    std::raise(SIGSEGV);
  } else if (fault == "abort") {
    std::abort();
  } else if (fault == "hang") {
    for (;;)
      std::this_thread::sleep_for(std::chrono::hours(1));
  } else if (fault == "garbage") {
    out << "this is not a JSON reply\n" << std::flush;
  } else if (fault == "partial") {
    out << "{\"id\":" << id.dump() << ",\"status\":\"o" << std::flush;
    _exit(0);
  } else if (fault == "wrong_id") {
    send(out, {{"id", -12345}, {"status", "ok"}});
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
  }
}

}  // namespace

int run_compile_worker(std::istream& in, std::ostream& out) {
  // Ctrl-C in kforge's terminal reaches the workers too; the parent decides what it means (the
  // compiles in progress finish), and a worker ends when its stdin closes.
  std::signal(SIGINT, SIG_IGN);
  nlohmann::json hello = {{"hello", "kforge-compile-worker"},
                          {"protocol", kCompileProtocolVersion},
                          {"pid", ::getpid()}};
  rlimit limit{};
  if (getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
    hello["address_space_limit_mb"] = limit.rlim_cur >> 20;
  std::vector<fs::path> include_roots;
  try {
    const Nvrtc& nvrtc = Nvrtc::instance();
    include_roots = cuda_include_roots();
    hello["nvrtc_version"] = nvrtc.version();
    hello["nvrtc_library"] = nvrtc.library_path();
    nlohmann::json roots = nlohmann::json::array();
    for (const fs::path& root : include_roots)
      roots.push_back(root.string());
    hello["include_roots"] = roots;
  } catch (const Error& failure) {
    hello["error"] = failure.what();
    send(out, hello);
    return 1;
  }
  send(out, hello);

  const char* faults = std::getenv(kCompileWorkerFaultsVariable);
  bool faults_allowed = faults != nullptr && std::string(faults) == "1";
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty())
      continue;
    nlohmann::json id = nullptr;
    try {
      nlohmann::json document = nlohmann::json::parse(line);
      if (!document.is_object())
        throw Error("a request must be a JSON object");
      id = document.value("id", nlohmann::json());
      if (faults_allowed && document.contains("fault")) {
        misbehave(document["fault"].get<std::string>(), out, id);
        continue;
      }
      NvrtcCompileSettings settings;
      settings.output_dir = document.at("output_dir").get<std::string>();
      if (!settings.output_dir.is_absolute())
        throw Error("output_dir must be an absolute path", "compile request");
      settings.include_roots = include_roots;
      settings.max_source_bytes = document.value("max_source_bytes", kDefaultMaxSourceBytes);
      CompileResult result = compile_with_nvrtc(request_from_json(document), settings);
      nlohmann::json reply = compile_result_to_json(result);
      reply["id"] = id;
      send(out, reply);
    } catch (const nlohmann::json::exception& failure) {
      send(out, {{"id", id}, {"error", std::string("bad request: ") + failure.what()}});
    } catch (const Error& failure) {
      send(out, {{"id", id}, {"error", failure.what()}});
    }
  }
  return 0;
}

}  // namespace kforge
