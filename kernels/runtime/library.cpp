#include "kforge/kernels/library.hpp"

#include <algorithm>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "kforge/kernels/error.hpp"

namespace kforge::kernels {
namespace {

nlohmann::json read_json(const std::filesystem::path& manifest) {
  std::ifstream stream(manifest);
  if (!stream)
    throw KernelError("cannot read the manifest", manifest.string());
  try {
    return nlohmann::json::parse(stream);
  } catch (const nlohmann::json::exception& error) {
    // parse_error, and out_of_range for a number too large for a double ("2e3832").
    throw KernelError("manifest is not valid JSON: " + std::string(error.what()),
                      manifest.string());
  }
}

// Fills `kernel` from its manifest; a malformed field is a KernelError naming the file and key.
void read_manifest(const std::filesystem::path& manifest, ShippedKernel& kernel) {
  const nlohmann::json json = read_json(manifest);
  const std::string where = manifest.string();
  if (!json.is_object())
    throw KernelError("a manifest must be a JSON object", where);
  kernel.has_manifest = true;
  try {
    if (json.contains("architectures")) {
      if (!json["architectures"].is_array())
        throw KernelError("\"architectures\" must be a list such as [\"sm_90\"]", where);
      for (const nlohmann::json& name : json["architectures"]) {
        if (!name.is_string())
          throw KernelError(
              "\"architectures\" holds " + name.dump() + ", not a name like \"sm_90\"", where);
        try {
          kernel.verified_architectures.push_back(parse_architecture(name.get<std::string>()));
        } catch (const KernelError& error) {
          throw KernelError(error.problem(), where);
        }
      }
    }
    if (json.contains("task")) {
      const nlohmann::json& task = json.at("task");
      kernel.task_name = task.value("name", "");
      if (task.contains("signature")) {
        for (const char* role : {"inputs", "parameters", "outputs"}) {
          for (const nlohmann::json& spec :
               task["signature"].value(role, nlohmann::json::array())) {
            SignatureEntry entry;
            entry.name = spec.at("name").get<std::string>();
            entry.role = std::string(role).substr(0, std::string(role).size() - 1);
            entry.tensor = spec.value("kind", "tensor") == "tensor";
            entry.dtype = spec.at("dtype").get<std::string>();
            if (entry.tensor)
              entry.rank = spec.at("shape").size();
            kernel.signature.push_back(entry);
          }
        }
      }
    }
    if (json.contains("launch") && json["launch"].is_object() && json["launch"].contains("arch")) {
      const nlohmann::json& arch = json["launch"]["arch"];
      for (const nlohmann::json& target : arch.is_array() ? arch : nlohmann::json::array({arch}))
        kernel.arch_targets.push_back(target.get<std::string>());
    }
    // (items() of a temporary would dangle: keep the objects alive.)
    const nlohmann::json parameters_json = json.value("parameters", nlohmann::json::object());
    const nlohmann::json defines_json = json.value("defines", nlohmann::json::object());
    for (const auto& [name, list] : parameters_json.items()) {
      std::vector<DeclaredParameter>& parameters = kernel.parameters[name];
      for (const nlohmann::json& parameter : list)
        parameters.push_back({parameter.value("name", ""), parameter.at("pointer").get<bool>(),
                              parameter.value("value_type", "")});
    }
    auto read_defines = [&where](const nlohmann::json& object, const std::string& path) {
      std::map<std::string, long long> values;
      for (const auto& [name, value] : object.items()) {
        // A float or an integer past 64 bits converted to long long is undefined behaviour.
        bool fits = value.is_number_integer() &&
                    (!value.is_number_unsigned() ||
                     value.get<unsigned long long>() <=
                         static_cast<unsigned long long>(std::numeric_limits<long long>::max()));
        if (!fits)
          throw KernelError("malformed manifest: " + path + name + " is not a 64-bit integer",
                            where);
        values[name] = value.get<long long>();
      }
      return values;
    };
    kernel.defines = read_defines(defines_json, "defines.");
    const nlohmann::json tuned_json = json.value("tuned", nlohmann::json::object());
    for (const auto& [arch, tuned] : tuned_json.items())
      kernel.tuned_defines[parse_architecture(arch)] =
          read_defines(tuned.at("defines"), "tuned." + arch + ".defines.");
  } catch (const nlohmann::json::exception& error) {
    throw KernelError("malformed manifest: " + std::string(error.what()), where);
  }
}

}  // namespace

bool ShippedKernel::verified_on(int architecture) const {
  return std::find(verified_architectures.begin(), verified_architectures.end(), architecture) !=
         verified_architectures.end();
}

ShippedKernel ShippedKernel::on_architecture(int architecture) const {
  ShippedKernel kernel = *this;
  if (auto tuned = tuned_defines.find(architecture); tuned != tuned_defines.end())
    for (const auto& [name, value] : tuned->second)
      kernel.defines[name] = value;
  return kernel;
}

int parse_architecture(const std::string& name) {
  std::string digits = name.rfind("sm_", 0) == 0 ? name.substr(3) : name;
  if (!digits.empty() && (digits.back() == 'a' || digits.back() == 'f'))
    digits.pop_back();
  const bool numeric =
      !digits.empty() && digits.size() <= 4 &&
      std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!numeric)
    throw KernelError("'" + name + "' is not a GPU architecture (write it like sm_90)", "");
  return std::stoi(digits);
}

std::string compile_target(const std::vector<std::string>& targets, int architecture) {
  if (targets.empty())
    return "sm_" + std::to_string(architecture);
  for (const std::string& target : targets) {
    if (target.size() < 4 || target.rfind("sm_", 0) != 0)
      continue;
    const char suffix = target.back();
    int number = 0;
    try {
      number = parse_architecture(target);
    } catch (const KernelError&) {
      continue;
    }
    // "a": that exact architecture; "f": its family, the same major version, minor at least.
    if (suffix == 'a' && number == architecture)
      return target;
    if (suffix == 'f' && number / 10 == architecture / 10 && number % 10 <= architecture % 10)
      return target;
  }
  return "";
}

namespace {

void scan_variants(const std::filesystem::path& root, bool seeds,
                   std::vector<ShippedKernel>& kernels) {
  for (const auto& task : std::filesystem::directory_iterator(root)) {
    if (!task.is_directory())
      continue;
    if (!seeds && task.path().filename() == "seeds") {
      scan_variants(task.path(), true, kernels);
      continue;
    }
    for (const auto& variant : std::filesystem::directory_iterator(task.path())) {
      const std::filesystem::path source = variant.path() / "kernel.cu";
      if (!variant.is_directory() || !std::filesystem::is_regular_file(source))
        continue;
      ShippedKernel kernel;
      kernel.task = task.path().filename().string();
      kernel.variant = variant.path().filename().string();
      kernel.source = source;
      kernel.seed = seeds;
      const std::filesystem::path manifest = variant.path() / "manifest.json";
      if (std::filesystem::exists(manifest))
        read_manifest(manifest, kernel);
      kernels.push_back(std::move(kernel));
    }
  }
}

}  // namespace

Library Library::scan(const std::filesystem::path& root) {
  std::error_code error;
  if (!std::filesystem::is_directory(root, error))
    throw KernelError("the kernel library folder does not exist", root.string());
  Library library;
  library.root_ = root;
  scan_variants(root, root.filename() == "seeds", library.kernels_);
  // Promoted kernels before seeds, each by task then variant: choose() prefers the first.
  std::sort(library.kernels_.begin(), library.kernels_.end(),
            [](const ShippedKernel& a, const ShippedKernel& b) {
              return std::tie(a.seed, a.task, a.variant) < std::tie(b.seed, b.task, b.variant);
            });
  return library;
}

std::vector<std::string> Library::tasks() const {
  std::vector<std::string> names;
  for (const ShippedKernel& kernel : kernels_)
    if (std::find(names.begin(), names.end(), kernel.task) == names.end())
      names.push_back(kernel.task);
  std::sort(names.begin(), names.end());
  return names;
}

const ShippedKernel& Library::choose(const std::string& task, int architecture) const {
  const ShippedKernel* exact = nullptr;
  const ShippedKernel* same_family = nullptr;
  const ShippedKernel* unverified = nullptr;
  for (const ShippedKernel& kernel : kernels_) {
    if (kernel.task != task || compile_target(kernel.arch_targets, architecture).empty())
      continue;
    if (!exact && kernel.verified_on(architecture))
      exact = &kernel;
    for (int verified : kernel.verified_architectures)
      if (!same_family && verified / 10 == architecture / 10 && verified < architecture)
        same_family = &kernel;
    if (!unverified && kernel.verified_architectures.empty())
      unverified = &kernel;
  }
  if (exact)
    return *exact;
  if (same_family)
    return *same_family;
  if (unverified)
    return *unverified;

  std::string known;
  for (const std::string& name : tasks())
    known += (known.empty() ? "" : ", ") + name;
  const bool has_task = std::any_of(kernels_.begin(), kernels_.end(),
                                    [&](const ShippedKernel& k) { return k.task == task; });
  if (has_task)
    throw KernelError("no variant of '" + task + "' is verified for sm_" +
                          std::to_string(architecture) + " or its family",
                      root_.string());
  throw KernelError("no shipped kernel for task '" + task +
                        "' (there are: " + (known.empty() ? "none" : known) + ")",
                    root_.string());
}

}  // namespace kforge::kernels
