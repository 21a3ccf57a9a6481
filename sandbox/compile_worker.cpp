#include "sandbox/compile_worker.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <iostream>

#include "harness/util/error.hpp"
#include "sandbox/nvrtc_api.hpp"
#include "sandbox/nvrtc_compiler.hpp"

namespace kforge {
namespace fs = std::filesystem;
namespace {

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

}  // namespace

void write_worker_line(std::ostream& out, const nlohmann::json& message) {
  // Replacing invalid UTF-8 keeps a reply parseable whatever NVRTC put in its log.
  out << message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  out.flush();
}

CompileWorker::CompileWorker() {
  hello_ = {{"hello", "kforge-compile-worker"},
            {"protocol", kCompileProtocolVersion},
            {"pid", ::getpid()}};
  rlimit limit{};
  if (getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
    hello_["address_space_limit_mb"] = limit.rlim_cur >> 20;
  try {
    const Nvrtc& nvrtc = Nvrtc::instance();
    include_roots_ = cuda_include_roots();
    hello_["nvrtc_version"] = nvrtc.version();
    hello_["nvrtc_library"] = nvrtc.library_path();
    nlohmann::json roots = nlohmann::json::array();
    for (const fs::path& root : include_roots_)
      roots.push_back(root.string());
    hello_["include_roots"] = roots;
  } catch (const Error& failure) {
    hello_["error"] = failure.what();
  }
}

nlohmann::json CompileWorker::serve(const std::string& line) const {
  nlohmann::json id = nullptr;
  try {
    nlohmann::json document = nlohmann::json::parse(line);
    if (!document.is_object())
      throw Error("a request must be a JSON object");
    id = document.value("id", nlohmann::json());
    NvrtcCompileSettings settings;
    settings.output_dir = document.at("output_dir").get<std::string>();
    if (!settings.output_dir.is_absolute())
      throw Error("output_dir must be an absolute path", "compile request");
    settings.include_roots = include_roots_;
    settings.max_source_bytes = document.value("max_source_bytes", kDefaultMaxSourceBytes);
    nlohmann::json reply =
        compile_result_to_json(compile_with_nvrtc(request_from_json(document), settings));
    reply["id"] = id;
    return reply;
  } catch (const nlohmann::json::exception& failure) {
    return {{"id", id}, {"error", std::string("bad request: ") + failure.what()}};
  } catch (const Error& failure) {
    return {{"id", id}, {"error", failure.what()}};
  }
}

int run_compile_worker(std::istream& in, std::ostream& out) {
  // Ctrl-C in kforge's terminal reaches the workers too; the parent decides what it means (the
  // compiles in progress finish), and a worker ends when its stdin closes.
  std::signal(SIGINT, SIG_IGN);
  CompileWorker worker;
  write_worker_line(out, worker.hello());
  if (!worker.ready())
    return 1;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty())
      write_worker_line(out, worker.serve(line));
  }
  return 0;
}

}  // namespace kforge
