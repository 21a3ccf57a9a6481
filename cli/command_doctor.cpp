// `kforge doctor`: what this machine has for kforge's work, each piece found (with where and
// which version) or missing (with why), and an exit code saying whether what the requested
// work needs is there.
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "cli/commands.hpp"
#include "harness/environment.hpp"
#include "harness/reference_runner.hpp"
#include "harness/util/error.hpp"
#include "harness/util/strings.hpp"

namespace kforge::cli {
namespace {

namespace fs = std::filesystem;

Component probe_store(Workspace& workspace) {
  Component component{.name = "store", .location = workspace.db_path().string()};
  if (!workspace.store_exists()) {
    component.found = true;
    component.detail = "not created yet; the first command that writes creates it";
    return component;
  }
  try {
    Store& store = workspace.store();
    std::string integrity = store.integrity_check();
    component.version = "schema " + std::to_string(store.schema_version());
    component.found = integrity == "ok";
    component.detail = integrity == "ok" ? "integrity ok" : "integrity check: " + integrity;
  } catch (const Error& failure) {
    component.detail = failure.what();
  }
  return component;
}

Component probe_cache(Workspace& workspace) {
  // The cache lives in <workspace>/.kforge; doctor checks it could be written without
  // creating it.
  fs::path dir = workspace.root() / ".kforge";
  Component component{.name = "cache", .location = dir.string()};
  fs::path writable = fs::exists(dir) ? dir : workspace.root();
  component.found = ::access(writable.c_str(), W_OK) == 0;
  component.detail = component.found ? (fs::exists(dir) ? "writable" : "not created yet; writable")
                                     : "not writable: " + writable.string();
  return component;
}

Component probe_python(Workspace& workspace) {
  Component component{.name = "python"};
  try {
    ReferenceRunner runner = ReferenceRunner::for_workspace(workspace);
    const PythonInterpreter& python = runner.python();
    component.found = true;
    component.location = python.path.string();
    component.version = "torch " + python.torch_version;
    component.detail = python.cuda_available ? "torch sees CUDA" : "torch does not see CUDA";
  } catch (const Error& failure) {
    component.detail = failure.what();
  }
  return component;
}

// What each kind of work needs, by component name.
const std::vector<std::string> kRequirable = {"cuda-driver", "gpu",   "nvrtc", "cupti",
                                              "python",      "store", "cache"};

}  // namespace

void add_doctor_command(CLI::App& parent, Context& context) {
  auto* command = parent.add_subcommand(
      "doctor", "report the CUDA driver, GPUs, NVRTC, CUPTI, Python with torch, store and cache");
  struct Options {
    bool json = false;
    std::vector<std::string> require = {"nvrtc", "python", "store", "cache"};
  };
  auto options = std::make_shared<Options>();
  command->add_flag("--json", options->json, "print one JSON object");
  command
      ->add_option("--require", options->require,
                   "components the intended work needs; exit 3 if any is missing "
                   "(default: nvrtc python store cache; add gpu and cupti for GPU work)")
      ->delimiter(',');
  command->callback([options, &context] {
    for (const std::string& name : options->require) {
      if (std::find(kRequirable.begin(), kRequirable.end(), name) == kRequirable.end())
        throw Error(strings::unknown_name_message("component", name, kRequirable), "--require");
    }
    Workspace& workspace = context.workspace();
    std::vector<GpuInfo> gpus;
    std::vector<Component> components;
    components.push_back(probe_cuda_driver(&gpus));
    Component gpu{.name = "gpu", .found = !gpus.empty()};
    if (gpus.empty()) {
      gpu.detail = "no GPU visible: evaluations stop at 'compiled'";
    } else {
      gpu.version = gpus.front().arch;
      gpu.location = gpus.front().name;
      gpu.detail = std::to_string(gpus.size()) + " visible, " +
                   std::to_string(gpus.front().sm_count) + " SMs, " +
                   std::to_string(gpus.front().memory_bytes >> 20) + " MiB";
    }
    components.push_back(gpu);
    components.push_back(probe_nvrtc());
    components.push_back(probe_cupti());
    components.push_back(probe_python(workspace));
    components.push_back(probe_store(workspace));
    components.push_back(probe_cache(workspace));

    std::vector<std::string> missing;
    for (const Component& component : components) {
      bool required = std::find(options->require.begin(), options->require.end(), component.name) !=
                      options->require.end();
      if (required && !component.found)
        missing.push_back(component.name);
    }
    if (options->json) {
      nlohmann::json report = {{"components", nlohmann::json::array()},
                               {"required", options->require},
                               {"missing", missing},
                               {"ok", missing.empty()}};
      for (const Component& component : components)
        report["components"].push_back(component.to_json());
      Context::print_json(report);
    } else {
      for (const Component& component : components) {
        print("%-12s %-8s %-14s %s%s%s\n", component.name.c_str(),
              component.found ? "found" : "MISSING", component.version.c_str(),
              component.location.c_str(), component.location.empty() ? "" : "  ",
              component.detail.c_str());
      }
      if (missing.empty()) {
        print("ok: everything required (%s) is present\n",
              strings::join(options->require, ", ").c_str());
      } else {
        print("missing for the requested work: %s\n", strings::join(missing, ", ").c_str());
      }
    }
    if (!missing.empty())
      throw CLI::RuntimeError(kExitUnavailable);
  });
}

}  // namespace kforge::cli
