// The readout a task trains: the LiDeRe readout, or the linear-probe baseline (the same features
// through one 1x1 convolution, upsampled bilinearly to the same output size), so that the two
// differ by one flag (--readout lidere|linear); with the heads a task asks for (head_layout.h): one
// head is the plain readout (official LiDeRe names), several the multi-head readout (official
// LiDeReMulti names: heads.<name>.*, embed_proj.*).
#pragma once

#include <map>
#include <memory>
#include <string>

#include <torch/nn/module.h>

#include "ops/interp_attention.h"
#include "readout/config.h"
#include "readout/conv_params.h"
#include "readout/head_layout.h"

namespace lidere::readout {

enum class ReadoutKind { kLiDeRe, kLinear };

// "lidere" / "linear"; parse throws UsageError for anything else.
ReadoutKind parse_readout_kind(const std::string& name);
std::string readout_kind_name(ReadoutKind kind);

// Named outputs, each (B, C, H, W) at the readout's output resolution.
using Outputs = std::map<std::string, torch::Tensor>;

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
  // `config` gives everything but the heads' channels and biases, which `layout` gives.
  ReadoutHead(ReadoutKind kind, const ReadoutConfig& config, HeadLayout layout);
  // One head named "logits" with config.classes channels and config.out_bias.
  ReadoutHead(ReadoutKind kind, const ReadoutConfig& config);

  // features (B, C, Hf, Wf) -> every output of the layout, (B, channels, H, W) each.
  Outputs forward(const torch::Tensor& features);
  torch::nn::Module& module() { return *module_; }
  const torch::nn::Module& module() const { return *module_; }
  ReadoutKind kind() const { return kind_; }
  // The configuration of a single head (classes = its channels); for several heads, the shared one.
  const ReadoutConfig& config() const { return config_; }
  const HeadLayout& layout() const { return layout_; }
  void to(torch::Device device);
  // Which implementation the interpolation attention uses (LiDeRe readouts; no effect on linear);
  // kReference also computes the prior with ATen ops instead of the fused CUDA kernel.
  void set_interp_backend(ops::InterpBackend backend);

 private:
  ReadoutKind kind_;
  ReadoutConfig config_;
  HeadLayout layout_;
  std::shared_ptr<torch::nn::Module> module_;
};

}  // namespace lidere::readout
