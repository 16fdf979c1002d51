#include "readout/interpolation_layer.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/errors.h"

namespace lidere::readout {
namespace {
constexpr std::int64_t kPositionEncodingDim = 16;
constexpr double kQueryPositionScale = 10.0;  // the official q buffer encodes 10 x the index
}  // namespace

InterpolationLayerImpl::InterpolationLayerImpl(const ReadoutConfig& config) : config_(config) {
  const auto heads = config.heads;
  const auto value_width = heads * config.value_dim();
  // Registration order follows the official module so parameters() lists them alike.
  implicit_net =
      register_module("implicit_net", InterpolationPrior(heads, config.prior_hidden, config.prior_distance_init));
  proj_v = register_module("proj_v", torch::nn::Linear(config.dim, value_width));
  proj_k = register_module("proj_k", torch::nn::Linear(config.dim + kPositionEncodingDim, heads * config.key_dim));
  feats_pe = register_buffer("feats_pe", sincos_encoding(config.feature_grid, 1.0, {}));
  q = register_buffer("q", sincos_encoding(config.base_grid, kQueryPositionScale, {}));
  const auto query_in = config.queries == QueryMode::kPositional ? kPositionEncodingDim : config.dim;
  proj_q = register_module("proj_q", torch::nn::Linear(query_in, heads * config.key_dim));
  norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({config.dim}).eps(1e-5)));
  linear1 = register_module("linear1", torch::nn::Linear(value_width, 2 * value_width));
  linear2 =
      register_module("linear2", torch::nn::Linear(torch::nn::LinearOptions(2 * value_width, config.dim).bias(false)));
}

void InterpolationLayerImpl::rebuild_fixed_encodings() {
  torch::NoGradGuard no_grad;
  feats_pe.set_data(sincos_encoding(config_.feature_grid, 1.0, feats_pe.options()));
  q.set_data(sincos_encoding(config_.base_grid, kQueryPositionScale, q.options()));
}

torch::Tensor InterpolationLayerImpl::tokens_of(const torch::Tensor& features) const {
  if (features.dim() != 4 || features.size(1) != config_.dim || features.size(2) != config_.feature_grid.rows ||
      features.size(3) != config_.feature_grid.cols) {
    throw UsageError(fmt::format("interpolation layer: expected features (B, {}, {}, {}), got ({})", config_.dim,
                                 config_.feature_grid.rows, config_.feature_grid.cols,
                                 fmt::join(features.sizes(), ", ")));
  }
  return features.flatten(2).permute({0, 2, 1});
}

torch::Tensor InterpolationLayerImpl::queries() {
  const auto heads = config_.heads, key_dim = config_.key_dim;
  if (config_.queries == QueryMode::kPositional) {
    return proj_q->forward(q).view({q.size(0), heads, key_dim});
  }
  // The query map is all zeros, so every target's query is proj_q(0): one vector per head.
  // Running proj_q on a zero row (rather than reading the bias) keeps the weight in the graph,
  // so its gradient is an exact zero as in the official model.
  const torch::Tensor zero_query = torch::zeros({1, config_.dim}, proj_q->weight.options());
  return proj_q->forward(zero_query).view({heads, key_dim});
}

torch::Tensor InterpolationLayerImpl::keys(const torch::Tensor& tokens) {
  const auto B = tokens.size(0), S = tokens.size(1);
  const torch::Tensor with_position = torch::cat({tokens, feats_pe.unsqueeze(0).expand({B, S, feats_pe.size(1)})}, 2);
  return proj_k->forward(with_position).view({B, S, config_.heads, config_.key_dim});
}

torch::Tensor InterpolationLayerImpl::values(const torch::Tensor& tokens) {
  return proj_v->forward(tokens).view({tokens.size(0), tokens.size(1), config_.heads, config_.value_dim()});
}

torch::Tensor InterpolationLayerImpl::prior() { return implicit_net->forward(config_.feature_grid, config_.base_grid); }

torch::Tensor InterpolationLayerImpl::attention_weights(const torch::Tensor& features) {
  return ops::interp_attention_weights(prior(), queries(), keys(tokens_of(features)));
}

torch::Tensor InterpolationLayerImpl::forward(const torch::Tensor& features) {
  const torch::Tensor tokens = tokens_of(features);
  // Under autocast the projections come out in bf16 while the prior and a bias-only query may be
  // float32: the op takes one dtype, that of the keys (it accumulates in float32 either way).
  const torch::Tensor k = keys(tokens);
  const auto dtype = k.scalar_type();
  const torch::Tensor interpolated = ops::interp_attention(prior().to(dtype), queries().to(dtype), k,
                                                           values(tokens).to(dtype), backend);  // (B, T, H, Dv)
  const torch::Tensor x = interpolated.flatten(2);
  // The official layer adds the (all-zero) query map as a residual; adding zeros changes nothing.
  return norm2->forward(linear2->forward(torch::relu(linear1->forward(x))));
}

}  // namespace lidere::readout
