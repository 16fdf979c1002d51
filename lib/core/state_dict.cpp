#include "core/state_dict.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/errors.h"

namespace lidere {
namespace {

std::string shape_str(const torch::Tensor& t) { return fmt::format("({})", fmt::join(t.sizes(), ", ")); }

}  // namespace

std::string LoadReport::describe() const {
  std::string text;
  for (const auto& n : missing) text += fmt::format("  missing: {}\n", n);
  for (const auto& n : unexpected) text += fmt::format("  unexpected: {}\n", n);
  for (const auto& n : mismatched) text += fmt::format("  wrong shape: {}\n", n);
  return text;
}

std::map<std::string, torch::Tensor> state_dict(const torch::nn::Module& module) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) out[item.key()] = item.value();
  for (const auto& item : module.named_buffers(/*recurse=*/true)) out[item.key()] = item.value();
  return out;
}

LoadReport load_state_dict(torch::nn::Module& module, const TensorFile& file, bool strict,
                           const IgnorableKey& ignorable) {
  LoadReport report;
  const auto ours = state_dict(module);
  for (const auto& [name, tensor] : file.tensors) {
    if (ours.count(name)) continue;
    (ignorable && ignorable(name) ? report.ignored : report.unexpected).push_back(name);
  }
  std::vector<std::pair<torch::Tensor, torch::Tensor>> to_copy;  // (model tensor, file tensor)
  for (const auto& [name, target] : ours) {
    const auto it = file.tensors.find(name);
    if (it == file.tensors.end()) {
      report.missing.push_back(name);
    } else if (it->second.sizes() != target.sizes()) {
      report.mismatched.push_back(fmt::format("{}: file {} vs model {}", name, shape_str(it->second), shape_str(target)));
    } else if (!it->second.is_floating_point() && target.is_floating_point()) {
      report.mismatched.push_back(fmt::format("{}: file holds {} values, model needs floating point",
                                              name, c10::toString(it->second.scalar_type())));
    } else {
      to_copy.emplace_back(target, it->second);
    }
  }
  // Validate everything before touching the model, so a refused file leaves it unchanged.
  if (strict && !report.ok()) {
    throw InputError(fmt::format("{}: does not fit this readout:\n{}", file.source, report.describe()));
  }
  torch::NoGradGuard no_grad;
  for (auto& [target, source] : to_copy) target.copy_(source);
  return report;
}

}  // namespace lidere
