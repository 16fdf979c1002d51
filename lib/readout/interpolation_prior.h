// The content-agnostic interpolation prior (official ImplicitNet):
//   I[h, s, t] = exp(skip(x)) + exp(net(x)),  x = (dx, dy, dx^2, dy^2) of source s - target t,
//   net = Linear(4, 32) -> sin -> Linear(32, 32) -> sin -> Linear(32, heads).
// The matrix depends only on the weights and the two grids, so it is cached when no gradient is
// needed (inference) and recomputed whenever one is (training). For CUDA weights it is computed by
// the fused kernel of ops/prior_mlp.h (no (S, T, 32) hidden activations, for the forward or the
// backward pass) unless use_fused_kernel is false; elsewhere by ATen ops, the reference.
#pragma once

#include <optional>

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include "readout/conv_params.h"
#include "readout/grid.h"

namespace lidere::readout {

class InterpolationPriorImpl : public torch::nn::Module {
 public:
  InterpolationPriorImpl(std::int64_t heads, std::int64_t hidden, double distance_init);

  // The prior (heads, S, T) for a source and a target grid, in the weights' dtype and device.
  torch::Tensor forward(GridSize source, GridSize target);

  // Times the matrix was computed (cache misses and training passes); for tests and benches.
  std::int64_t evaluations() const { return evaluations_; }

  Indexed net;  // official names net.0, net.2, net.4 (the sines at 1 and 3 have no weights)
  torch::nn::Linear skip{nullptr};
  bool use_fused_kernel = true;

 private:
  struct CachedOffsets {
    GridSize source, target;
    torch::Tensor offsets;  // (S, T, 4) for the ATen path; the fused kernel takes src (S, 2), tgt (T, 2)
    torch::Tensor src, tgt;
  };
  torch::Tensor evaluate(GridSize source, GridSize target);
  CachedOffsets& offsets_for(GridSize source, GridSize target, const torch::Tensor& like);
  std::int64_t weights_version() const;

  struct CachedPrior {
    GridSize source, target;
    std::int64_t version = -1;
    std::vector<const void*> storages;
    torch::Tensor prior;  // (heads, S, T), contiguous
  };
  torch::nn::Linear net_in_{nullptr}, net_hidden_{nullptr}, net_out_{nullptr};
  std::optional<CachedOffsets> offsets_cache_;
  std::optional<CachedPrior> prior_cache_;
  std::int64_t evaluations_ = 0;
};
TORCH_MODULE(InterpolationPrior);

}  // namespace lidere::readout
