#include "readout/interpolation_prior.h"

#include "ops/prior_mlp.h"

namespace lidere::readout {

InterpolationPriorImpl::InterpolationPriorImpl(std::int64_t heads, std::int64_t hidden, double distance_init) {
  constexpr std::int64_t kInputs = 4;  // dx, dy, dx^2, dy^2
  net = register_module("net", Indexed());
  net_in_ = net->add(0, torch::nn::Linear(kInputs, hidden));
  net_hidden_ = net->add(2, torch::nn::Linear(hidden, hidden));
  net_out_ = net->add(4, torch::nn::Linear(hidden, heads));
  skip = register_module("skip", torch::nn::Linear(torch::nn::LinearOptions(kInputs, heads).bias(false)));
  // Official initialisation: small positive weights on dx, dy and -distance_init on dx^2, dy^2,
  // so that exp(skip(x)) starts as a broad Gaussian-like bump around each target.
  torch::NoGradGuard no_grad;
  skip->weight.uniform_(0.0, 1.0).mul_(0.01);
  skip->weight.index_fill_(1, torch::tensor({2, 3}), -distance_init);
}

torch::Tensor InterpolationPriorImpl::evaluate(GridSize source, GridSize target) {
  ++evaluations_;
  CachedOffsets& grids = offsets_for(source, target, skip->weight);
  const ops::PriorMlpWeights weights{net_in_->weight,  net_in_->bias,  net_hidden_->weight, net_hidden_->bias,
                                     net_out_->weight, net_out_->bias, skip->weight};
  if (use_fused_kernel && ops::fused_prior_supported(weights)) {
    return ops::fused_interpolation_prior(grids.src, grids.tgt, weights);
  }
  // The reference works on all S x T offsets at once (built on first use: the fused kernel forms
  // them per pair and needs only the two coordinate lists).
  if (!grids.offsets.defined()) grids.offsets = ops::pair_offsets(grids.src, grids.tgt);
  return ops::interpolation_prior_reference(grids.offsets, weights);
}

InterpolationPriorImpl::CachedOffsets& InterpolationPriorImpl::offsets_for(GridSize source, GridSize target,
                                                                           const torch::Tensor& like) {
  if (!offsets_cache_ || !(offsets_cache_->source == source) || !(offsets_cache_->target == target) ||
      offsets_cache_->src.scalar_type() != like.scalar_type() || offsets_cache_->src.device() != like.device()) {
    // Built directly in the weights' dtype: float64 offsets built in float32 and cast up would
    // differ from the official float64 ones by ~1e-8.
    offsets_cache_ = CachedOffsets{source, target, torch::Tensor(), normalized_coordinates(source, like.options()),
                                   normalized_coordinates(target, like.options())};
  }
  return *offsets_cache_;
}

std::int64_t InterpolationPriorImpl::weights_version() const {
  std::int64_t version = 0;
  for (const auto& p : parameters()) version += static_cast<std::int64_t>(p._version());
  return version;
}

torch::Tensor InterpolationPriorImpl::forward(GridSize source, GridSize target) {
  bool needs_grad = false;
  for (const auto& p : parameters()) needs_grad = needs_grad || p.requires_grad();
  needs_grad = needs_grad && torch::GradMode::is_enabled();
  if (needs_grad) return evaluate(source, target);

  // Cache key: grids plus the identity and version of every weight, so an optimiser step,
  // a load or a move to another dtype/device invalidates the cached matrix.
  std::vector<const void*> storages;
  for (const auto& p : parameters()) storages.push_back(p.data_ptr());
  const std::int64_t version = weights_version();
  if (prior_cache_ && prior_cache_->source == source && prior_cache_->target == target &&
      prior_cache_->version == version && prior_cache_->storages == storages) {
    return prior_cache_->prior;
  }
  torch::NoGradGuard no_grad;
  prior_cache_ = CachedPrior{source, target, version, std::move(storages), evaluate(source, target).contiguous()};
  return prior_cache_->prior;
}

}  // namespace lidere::readout
