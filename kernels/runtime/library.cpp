#include "kforge/kernels/library.hpp"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "kforge/kernels/error.hpp"

namespace kforge::kernels {
namespace {

std::vector<int> read_manifest_architectures(const std::filesystem::path& manifest) {
  std::ifstream stream(manifest);
  if (!stream)
    throw KernelError("cannot read the manifest", manifest.string());
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(stream);
  } catch (const nlohmann::json::parse_error& error) {
    throw KernelError("manifest is not valid JSON: " + std::string(error.what()),
                      manifest.string());
  }
  std::vector<int> architectures;
  if (!json.is_object() || !json.contains("architectures"))
    return architectures;
  if (!json["architectures"].is_array())
    throw KernelError("\"architectures\" must be a list such as [\"sm_90\"]", manifest.string());
  for (const nlohmann::json& name : json["architectures"]) {
    if (!name.is_string())
      throw KernelError("\"architectures\" holds " + name.dump() + ", not a name like \"sm_90\"",
                        manifest.string());
    try {
      architectures.push_back(parse_architecture(name.get<std::string>()));
    } catch (const KernelError& error) {
      throw KernelError(error.problem(), manifest.string());
    }
  }
  return architectures;
}

}  // namespace

bool ShippedKernel::verified_on(int architecture) const {
  return std::find(verified_architectures.begin(), verified_architectures.end(), architecture) !=
         verified_architectures.end();
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

Library Library::scan(const std::filesystem::path& root) {
  std::error_code error;
  if (!std::filesystem::is_directory(root, error))
    throw KernelError("the kernel library folder does not exist", root.string());
  Library library;
  library.root_ = root;
  for (const auto& task : std::filesystem::directory_iterator(root)) {
    if (!task.is_directory())
      continue;
    for (const auto& variant : std::filesystem::directory_iterator(task.path())) {
      const std::filesystem::path source = variant.path() / "kernel.cu";
      if (!variant.is_directory() || !std::filesystem::is_regular_file(source))
        continue;
      ShippedKernel kernel;
      kernel.task = task.path().filename().string();
      kernel.variant = variant.path().filename().string();
      kernel.source = source;
      const std::filesystem::path manifest = variant.path() / "manifest.json";
      if (std::filesystem::exists(manifest))
        kernel.verified_architectures = read_manifest_architectures(manifest);
      library.kernels_.push_back(std::move(kernel));
    }
  }
  std::sort(library.kernels_.begin(), library.kernels_.end(),
            [](const ShippedKernel& a, const ShippedKernel& b) {
              return std::tie(a.task, a.variant) < std::tie(b.task, b.variant);
            });
  return library;
}

std::vector<std::string> Library::tasks() const {
  std::vector<std::string> names;
  for (const ShippedKernel& kernel : kernels_)
    if (names.empty() || names.back() != kernel.task)
      names.push_back(kernel.task);
  return names;
}

const ShippedKernel& Library::choose(const std::string& task, int architecture) const {
  const ShippedKernel* exact = nullptr;
  const ShippedKernel* same_family = nullptr;
  const ShippedKernel* unverified = nullptr;
  for (const ShippedKernel& kernel : kernels_) {
    if (kernel.task != task)
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
