// A plain vision transformer covering the DINOv2 and DINOv3 families, with the parameter names of
// the Hugging Face DINOv3 checkpoint layout (see weight_mapping.h for the other layouts).
//
//   tokens = [CLS, registers..., patches (row-major)]
//   DINOv2: learned position embeddings (bicubic-interpolated to the grid) on [CLS, patches]
//   DINOv3: 2-D RoPE on the patch tokens' queries and keys, no absolute positions
//   block:  x += ls1 * attn(LN1(x));  x += ls2 * mlp(LN2(x))      (mlp plain or gated)
//   output: LN(final) over all tokens
#pragma once

#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

namespace lidere::backbones {

enum class VitFamily { kDinov2, kDinov3 };
enum class Activation { kGelu, kSilu };

struct VitConfig {
  VitFamily family = VitFamily::kDinov3;
  std::int64_t hidden = 384;
  std::int64_t depth = 12;
  std::int64_t heads = 6;
  std::int64_t intermediate = 1536;  // MLP hidden width
  bool gated_mlp = false;            // down(act(gate x) * up x) instead of down(act(up x))
  Activation activation = Activation::kGelu;
  std::int64_t registers = 4;
  std::int64_t patch = 16;
  double layer_norm_eps = 1e-5;
  bool query_bias = true, key_bias = false, value_bias = true, proj_bias = true, mlp_bias = true;
  // DINOv3 RoPE
  double rope_theta = 100.0;
  // DINOv2 learned position embeddings: the grid they were trained on, and whether resizing them
  // uses antialiasing (Hugging Face: off for Dinov2Model, on for Dinov2WithRegistersModel).
  std::int64_t position_grid = 37;
  bool position_antialias = false;

  std::int64_t head_dim() const { return hidden / heads; }
  std::int64_t prefix_tokens() const { return 1 + registers; }
  std::string describe() const;  // e.g. "DINOv3 ViT (hidden 384, depth 12, heads 6, ...)"
  void validate() const;         // throws InputError naming the inconsistent field
};

class VitBlockImpl : public torch::nn::Module {
 public:
  explicit VitBlockImpl(const VitConfig& config);

  // Adds a LoRA adapter on the fused qkv projection, as the official LoRALinear wraps timm's
  // attn.qkv: qkv(x) + scale * x A^T B^T with A (rank, D) kaiming-uniform(a=sqrt(5)), B (3D, rank)
  // zeros, scale = alpha / rank. B's rows are [q; k; v]. Parameters attention.lora_A / lora_B.
  void add_lora(std::int64_t rank, double alpha);
  // rope: (cos, sin) of shape (P, head_dim) for the P patch tokens, or undefined (DINOv2).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& rope_cos, const torch::Tensor& rope_sin);

 private:
  torch::Tensor attention(const torch::Tensor& x, const torch::Tensor& rope_cos, const torch::Tensor& rope_sin);
  torch::Tensor mlp(const torch::Tensor& x);

  VitConfig config_;
  torch::nn::LayerNorm norm1_{nullptr}, norm2_{nullptr};
  torch::nn::Linear q_{nullptr}, k_{nullptr}, v_{nullptr}, o_{nullptr};
  torch::nn::Linear gate_{nullptr}, up_{nullptr}, down_{nullptr};
  torch::Tensor scale1_, scale2_;
  std::shared_ptr<torch::nn::Module> attention_holder_;
  torch::Tensor lora_a_, lora_b_;
  double lora_scale_ = 0;
};
TORCH_MODULE(VitBlock);

class VisionTransformerImpl : public torch::nn::Module {
 public:
  explicit VisionTransformerImpl(const VitConfig& config);

  // Runs the transformer on normalised images (B, 3, H, W), H and W multiples of the patch.
  // Returns the token sequences (B, 1 + registers + h*w, hidden) that `taps` asks for: an index i
  // >= 0 is the raw output of block i; -1 is the final LayerNorm's output.
  std::vector<torch::Tensor> forward(const torch::Tensor& images, const std::vector<int>& taps);

  const VitConfig& config() const { return config_; }

  // The paper's "+LoRA" variant: freezes every weight, then adds trainable LoRA adapters on each
  // block's qkv projection (VitBlockImpl::add_lora); gradients reach only the adapters.
  void enable_lora(std::int64_t rank = 8, double alpha = 16);

  // Activation checkpointing of the blocks (for training the adapters on bounded memory): with it
  // on, a forward with gradients keeps only each block's input and the backward recomputes the
  // block to get its gradients, which equal those of the plain forward (same operations, same
  // order). Off by default; has no effect without gradients.
  void set_activation_checkpointing(bool on) { checkpoint_blocks_ = on; }

 private:
  torch::Tensor embed(const torch::Tensor& images);
  torch::Tensor resized_position_embeddings(std::int64_t rows, std::int64_t cols);
  std::pair<torch::Tensor, torch::Tensor> rope(std::int64_t rows, std::int64_t cols, const torch::Tensor& like);

  VitConfig config_;
  torch::Tensor cls_token_, register_tokens_, position_embeddings_, mask_token_;
  torch::nn::Conv2d patch_embeddings_{nullptr};
  std::vector<VitBlock> blocks_;
  torch::nn::LayerNorm norm_{nullptr};
  bool checkpoint_blocks_ = false;
};
TORCH_MODULE(VisionTransformer);

}  // namespace lidere::backbones
