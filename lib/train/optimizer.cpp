#include "train/optimizer.h"

#include <cmath>
#include <numbers>
#include <set>

#include <fmt/format.h>

#include "core/errors.h"

namespace lidere::train {

AdamW::AdamW(std::vector<std::pair<std::string, torch::Tensor>> parameters, AdamWOptions options)
    : AdamW(std::vector<ParameterGroup>{ParameterGroup{std::move(parameters), 1.0}}, options) {}

AdamW::AdamW(std::vector<ParameterGroup> groups, AdamWOptions options) : options_(options) {
  std::set<std::string> names;
  for (auto& group : groups) {
    if (!(group.lr_scale >= 0)) throw UsageError(fmt::format("learning-rate scale {} is not >= 0", group.lr_scale));
    for (auto& [name, param] : group.parameters) {
      if (!names.insert(name).second) throw UsageError(fmt::format("parameter '{}' is in two groups", name));
      if (!param.requires_grad()) continue;
      slots_.push_back({name, param, torch::zeros_like(param), torch::zeros_like(param), group.lr_scale});
    }
  }
}

void AdamW::zero_grad() {
  for (Slot& s : slots_) {
    if (s.param.grad().defined()) s.param.mutable_grad() = torch::Tensor();
  }
}

void AdamW::step(double lr) {
  torch::NoGradGuard no_grad;
  ++steps_;
  const double bias_correction1 = 1.0 - std::pow(options_.beta1, static_cast<double>(steps_));
  const double bias_correction2 = 1.0 - std::pow(options_.beta2, static_cast<double>(steps_));
  for (Slot& s : slots_) {
    const torch::Tensor& grad = s.param.grad();
    if (!grad.defined()) continue;  // as torch: a parameter without a gradient is not touched
    const double rate = lr * s.lr_scale;
    s.param.mul_(1.0 - rate * options_.weight_decay);
    s.exp_avg.lerp_(grad, 1.0 - options_.beta1);
    s.exp_avg_sq.mul_(options_.beta2).addcmul_(grad, grad, 1.0 - options_.beta2);
    const torch::Tensor denom = (s.exp_avg_sq.sqrt() / std::sqrt(bias_correction2)).add_(options_.eps);
    s.param.addcdiv_(s.exp_avg, denom, -rate / bias_correction1);
  }
}

std::map<std::string, torch::Tensor> AdamW::state() const {
  std::map<std::string, torch::Tensor> out;
  for (const Slot& s : slots_) {
    out[s.name + ".exp_avg"] = s.exp_avg;
    out[s.name + ".exp_avg_sq"] = s.exp_avg_sq;
  }
  out["step"] = torch::tensor({steps_}, torch::kLong);
  return out;
}

void AdamW::load_state(const std::map<std::string, torch::Tensor>& state, const std::string& source) {
  const auto get = [&](const std::string& key, const torch::Tensor& like) {
    const auto it = state.find(key);
    if (it == state.end()) throw InputError(fmt::format("{}: optimiser state '{}' is missing", source, key));
    if (like.defined() && it->second.sizes() != like.sizes()) {
      throw InputError(fmt::format("{}: optimiser state '{}' has shape {}, the model needs {}", source, key,
                                   it->second.sizes(), like.sizes()));
    }
    return it->second;
  };
  const std::int64_t steps = get("step", {}).item<std::int64_t>();
  std::vector<std::pair<torch::Tensor, torch::Tensor>> loaded;
  for (const Slot& s : slots_)
    loaded.emplace_back(get(s.name + ".exp_avg", s.param), get(s.name + ".exp_avg_sq", s.param));
  torch::NoGradGuard no_grad;  // all checked: now apply
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    slots_[i].exp_avg.copy_(loaded[i].first);
    slots_[i].exp_avg_sq.copy_(loaded[i].second);
  }
  steps_ = steps;
}

double scheduled_lr(double lr, std::int64_t step, std::int64_t total, std::int64_t warmup,
                    const std::string& schedule) {
  if (step < warmup) return lr * static_cast<double>(step + 1) / static_cast<double>(warmup);
  if (schedule == "constant") return lr;
  if (schedule != "cosine") throw UsageError("unknown schedule '" + schedule + "' (use cosine or constant)");
  const double span = static_cast<double>(std::max<std::int64_t>(1, total - warmup));
  const double progress = std::min(1.0, static_cast<double>(step - warmup) / span);
  return lr * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
}

}  // namespace lidere::train
