#include "harness/signature.hpp"

#include "harness/util/error.hpp"

namespace kforge {
namespace {

nlohmann::json spec_to_json(const TensorSpec& spec) {
  nlohmann::json json = {{"name", spec.name},
                         {"kind", spec.kind == ArgumentKind::kTensor ? "tensor" : "scalar"},
                         {"dtype", dtype_torch_name(spec.dtype)}};
  if (spec.kind == ArgumentKind::kTensor) {
    json["shape"] = spec.shape;
  } else if (spec.scalar) {
    json["value"] = *spec.scalar;
  }
  return json;
}

TensorSpec spec_from_json(const nlohmann::json& json, const std::string& where) {
  if (!json.is_object())
    throw Error("entry is not an object", where);
  TensorSpec spec;
  if (!json.contains("name") || !json["name"].is_string())
    throw Error("entry lacks a name", where);
  spec.name = json["name"].get<std::string>();
  std::string at = where + ": '" + spec.name + "'";
  std::string kind = json.value("kind", "tensor");
  if (kind == "tensor") {
    spec.kind = ArgumentKind::kTensor;
  } else if (kind == "scalar") {
    spec.kind = ArgumentKind::kScalar;
  } else {
    throw Error("kind must be 'tensor' or 'scalar', not '" + kind + "'", at);
  }
  if (!json.contains("dtype") || !json["dtype"].is_string())
    throw Error("entry lacks a dtype", at);
  auto dtype = dtype_from_torch_name(json["dtype"].get<std::string>());
  if (!dtype)
    throw Error("unknown dtype '" + json["dtype"].get<std::string>() + "'", at);
  spec.dtype = *dtype;
  if (spec.kind == ArgumentKind::kTensor) {
    if (!json.contains("shape") || !json["shape"].is_array())
      throw Error("tensor lacks a shape", at);
    for (const auto& extent : json["shape"]) {
      if (!extent.is_number_integer() || extent.get<int64_t>() < 0)
        throw Error("shape holds something other than a non-negative integer", at);
      spec.shape.push_back(extent.get<int64_t>());
    }
  } else if (json.contains("value")) {
    if (!json["value"].is_number() && !json["value"].is_boolean())
      throw Error("scalar value is not a number", at);
    spec.scalar = json["value"].is_boolean() ? (json["value"].get<bool>() ? 1.0 : 0.0)
                                             : json["value"].get<double>();
  }
  return spec;
}

std::vector<TensorSpec> list_from_json(const nlohmann::json& json, const char* key,
                                       const std::string& where) {
  std::vector<TensorSpec> specs;
  if (!json.contains(key))
    return specs;
  if (!json[key].is_array())
    throw Error(std::string(key) + " is not an array", where);
  for (const auto& entry : json[key])
    specs.push_back(spec_from_json(entry, where + ": " + key));
  return specs;
}

bool same_structure(const std::vector<TensorSpec>& a, const std::vector<TensorSpec>& b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].kind != b[i].kind || a[i].dtype != b[i].dtype ||
        a[i].shape.size() != b[i].shape.size())
      return false;
  }
  return true;
}

}  // namespace

int64_t TensorSpec::numel() const {
  int64_t count = 1;
  for (int64_t extent : shape)
    count *= extent;
  return count;
}

const TensorSpec* Signature::find(const std::string& name) const {
  for (const auto* list : {&inputs, &parameters, &outputs}) {
    for (const TensorSpec& spec : *list) {
      if (spec.name == name)
        return &spec;
    }
  }
  return nullptr;
}

nlohmann::json Signature::to_json() const {
  nlohmann::json json = {{"inputs", nlohmann::json::array()},
                         {"parameters", nlohmann::json::array()},
                         {"outputs", nlohmann::json::array()},
                         {"output_structure", returns_tuple ? "tuple" : "tensor"}};
  for (const TensorSpec& spec : inputs)
    json["inputs"].push_back(spec_to_json(spec));
  for (const TensorSpec& spec : parameters)
    json["parameters"].push_back(spec_to_json(spec));
  for (const TensorSpec& spec : outputs)
    json["outputs"].push_back(spec_to_json(spec));
  return json;
}

Signature Signature::from_json(const nlohmann::json& json, const std::string& where) {
  if (!json.is_object())
    throw Error("signature is not a JSON object", where);
  Signature signature;
  signature.inputs = list_from_json(json, "inputs", where);
  signature.parameters = list_from_json(json, "parameters", where);
  signature.outputs = list_from_json(json, "outputs", where);
  std::string structure = json.value("output_structure", "tensor");
  if (structure != "tensor" && structure != "tuple")
    throw Error("output_structure must be 'tensor' or 'tuple'", where);
  signature.returns_tuple = structure == "tuple";
  if (signature.outputs.empty())
    throw Error("signature has no outputs", where);
  return signature;
}

bool Signature::same_structure(const Signature& other) const {
  return returns_tuple == other.returns_tuple && kforge::same_structure(inputs, other.inputs) &&
         kforge::same_structure(parameters, other.parameters) &&
         kforge::same_structure(outputs, other.outputs);
}

}  // namespace kforge
