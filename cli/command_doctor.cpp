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
#include "harness/util/formatted.hpp"
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

// "3.2 GiB", "41.0 MiB", "12 KiB".
std::string size_text(uint64_t bytes) {
  if (bytes >= (uint64_t{1} << 30))
    return formatted("%.1f GiB", static_cast<double>(bytes) / (1 << 30));
  if (bytes >= (uint64_t{1} << 20))
    return formatted("%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return formatted("%llu KiB", static_cast<unsigned long long>((bytes + 1023) >> 10));
}

// The bytes of the regular files under `folder` (followed when it is itself a link, as a shared
// cache is; links inside it are not); what cannot be read is passed over.
uint64_t folder_bytes(const fs::path& folder) {
  uint64_t total = 0;
  std::error_code error;
  for (fs::recursive_directory_iterator
           it(folder, fs::directory_options::skip_permission_denied, error),
       end;
       !error && it != end; it.increment(error)) {
    std::error_code ignored;
    if (it->is_regular_file(ignored) && !it->is_symlink(ignored))
      total += it->file_size(ignored);
  }
  return total;
}

Component probe_cache(Workspace& workspace) {
  // The cache lives in <workspace>/.kforge; doctor checks it could be written without
  // creating it, and says how much it holds (the reference runs of large tasks take GiBs and
  // nothing removes them) beside the disk's free space.
  fs::path dir = workspace.root() / ".kforge";
  Component component{.name = "cache", .location = dir.string()};
  fs::path writable = fs::exists(dir) ? dir : workspace.root();
  component.found = ::access(writable.c_str(), W_OK) == 0;
  if (!component.found) {
    component.detail = "not writable: " + writable.string();
    return component;
  }
  if (!fs::exists(dir)) {
    component.detail = "not created yet; writable";
    return component;
  }
  uint64_t total = 0;
  std::vector<std::string> parts;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, error)) {
    std::error_code ignored;
    if (!entry.is_directory(ignored))
      continue;
    const uint64_t bytes = folder_bytes(entry.path());
    total += bytes;
    parts.push_back(entry.path().filename().string() + " " + size_text(bytes));
  }
  std::sort(parts.begin(), parts.end());
  component.detail = "writable; holds " + size_text(total);
  if (!parts.empty())
    component.detail += " (" + strings::join(parts, ", ") + ")";
  const fs::space_info space = fs::space(dir, error);
  if (!error)
    component.detail += "; " + size_text(space.available) + " free on its disk";
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
