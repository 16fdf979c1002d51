// The readout a task trains, chosen by kind: the LiDeRe readout, or the linear-probe baseline
// (the same features through one 1x1 convolution, upsampled bilinearly to the same output size),
// so that the two differ by one flag (--readout lidere|linear).
#pragma once

#include <memory>
#include <string>

#include <torch/nn/module.h>

#include "ops/interp_attention.h"
#include "readout/config.h"
#include "readout/conv_params.h"

namespace lidere::readout {

enum class ReadoutKind { kLiDeRe, kLinear };

// "lidere" / "linear"; parse throws UsageError for anything else.
ReadoutKind parse_readout_kind(const std::string& name);
std::string readout_kind_name(ReadoutKind kind);

// The linear probe: logits = W f + b per feature token, then bilinear (align_corners=False) to the
// LiDeRe output grid (base grid x upsample factor). Parameters: proj.weight (classes, C, 1, 1),
// proj.bias.
class LinearReadoutImpl : public torch::nn::Module {
 public:
  explicit LinearReadoutImpl(const ReadoutConfig& config);
  torch::Tensor forward(const torch::Tensor& features);  // (B, C, Hf, Wf) -> (B, classes, H, W)

 private:
  ReadoutConfig config_;
  Conv proj_{nullptr};
};
TORCH_MODULE(LinearReadout);

class ReadoutHead {
 public:
  ReadoutHead(ReadoutKind kind, const ReadoutConfig& config);
  // features (B, C, Hf, Wf) -> logits (B, classes, H, W) at the output resolution.
  torch::Tensor forward(const torch::Tensor& features);
  torch::nn::Module& module() { return *module_; }
  const torch::nn::Module& module() const { return *module_; }
  ReadoutKind kind() const { return kind_; }
  const ReadoutConfig& config() const { return config_; }
  void to(torch::Device device);
  // Which implementation the interpolation attention uses (LiDeRe readouts; no effect on linear);
  // kReference also computes the prior with ATen ops instead of the fused CUDA kernel.
  void set_interp_backend(ops::InterpBackend backend);

 private:
  ReadoutKind kind_;
  ReadoutConfig config_;
  std::shared_ptr<torch::nn::Module> module_;
};

}  // namespace lidere::readout
