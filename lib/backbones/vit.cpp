#include "backbones/vit.h"

#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/autograd.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/nn/init.h>

#include "backbones/backbone.h"
#include "core/errors.h"

namespace lidere::backbones {
namespace {

// A module that only holds parameters, to give them the nested names of the checkpoints
// ("embeddings.cls_token", "layer.0.layer_scale1.lambda1", ...).
struct ParameterHolder : torch::nn::Module {
  torch::Tensor add(const std::string& name, torch::Tensor value) { return register_parameter(name, std::move(value)); }
  template <typename M>
  M child(const std::string& name, M module) {
    return register_module(name, std::move(module));
  }
};

torch::nn::Linear linear(std::int64_t in, std::int64_t out, bool bias) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(bias));
}

torch::Tensor activate(const torch::Tensor& x, Activation activation) {
  return activation == Activation::kGelu ? torch::gelu(x) : torch::silu(x);
}

// Rotates pairs (x[i], x[i + d/2]) by the angles whose cos and sin are given (RoPE, "rotate half").
torch::Tensor rotate(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  const auto half = x.size(-1) / 2;
  const torch::Tensor rotated = torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
  return x * cos + rotated * sin;
}

}  // namespace

std::string VitConfig::describe() const {
  return fmt::format("{} ViT/{} (hidden {}, depth {}, heads {}, MLP {} {}{}, registers {})",
                     family == VitFamily::kDinov3 ? "DINOv3" : "DINOv2", patch, hidden, depth, heads, intermediate,
                     gated_mlp ? "gated " : "", activation == Activation::kGelu ? "GELU" : "SiLU", registers);
}

void VitConfig::validate() const {
  auto require = [](bool ok, const std::string& what) {
    if (!ok) throw InputError("ViT configuration: " + what);
  };
  require(hidden > 0 && depth > 0 && heads > 0 && hidden % heads == 0,
          fmt::format("hidden size {} must be a positive multiple of the {} heads", hidden, heads));
  require(family != VitFamily::kDinov3 || head_dim() % 4 == 0,
          fmt::format("DINOv3 RoPE needs a head dim divisible by 4, got {}", head_dim()));
  require(intermediate > 0 && patch > 0 && registers >= 0, "intermediate size, patch and registers must be positive");
}

VitBlockImpl::VitBlockImpl(const VitConfig& config) : config_(config) {
  const auto D = config.hidden;
  norm1_ = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({D}).eps(config.layer_norm_eps)));
  auto attention = register_module("attention", std::make_shared<ParameterHolder>());
  attention_holder_ = attention;
  q_ = attention->child("q_proj", linear(D, D, config.query_bias));
  k_ = attention->child("k_proj", linear(D, D, config.key_bias));
  v_ = attention->child("v_proj", linear(D, D, config.value_bias));
  o_ = attention->child("o_proj", linear(D, D, config.proj_bias));
  scale1_ = register_module("layer_scale1", std::make_shared<ParameterHolder>())->add("lambda1", torch::ones({D}));
  norm2_ = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({D}).eps(config.layer_norm_eps)));
  auto mlp = register_module("mlp", std::make_shared<ParameterHolder>());
  if (config.gated_mlp) gate_ = mlp->child("gate_proj", linear(D, config.intermediate, config.mlp_bias));
  up_ = mlp->child("up_proj", linear(D, config.intermediate, config.mlp_bias));
  down_ = mlp->child("down_proj", linear(config.intermediate, D, config.mlp_bias));
  scale2_ = register_module("layer_scale2", std::make_shared<ParameterHolder>())->add("lambda1", torch::ones({D}));
}

void VitBlockImpl::add_lora(std::int64_t rank, double alpha) {
  if (rank <= 0) throw UsageError(fmt::format("LoRA rank must be positive, got {}", rank));
  const auto D = config_.hidden;
  auto* holder = static_cast<ParameterHolder*>(attention_holder_.get());
  const auto options = q_->weight.options();
  lora_a_ = holder->add("lora_A", torch::empty({rank, D}, options));
  lora_b_ = holder->add("lora_B", torch::zeros({3 * D, rank}, options));
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_uniform_(lora_a_, std::sqrt(5.0));
  lora_scale_ = alpha / static_cast<double>(rank);
}

torch::Tensor VitBlockImpl::attention(const torch::Tensor& x, const torch::Tensor& rope_cos,
                                      const torch::Tensor& rope_sin) {
  const auto B = x.size(0), N = x.size(1), H = config_.heads, d = config_.head_dim();
  auto split_heads = [&](const torch::Tensor& t) { return t.view({B, N, H, d}).transpose(1, 2); };  // (B, H, N, d)
  torch::Tensor q_in = q_->forward(x), k_in = k_->forward(x), v_in = v_->forward(x);
  if (lora_a_.defined()) {
    const torch::Tensor delta = torch::matmul(torch::matmul(x, lora_a_.t()), lora_b_.t()) * lora_scale_;
    const auto D = config_.hidden;
    q_in = q_in + delta.narrow(-1, 0, D);
    k_in = k_in + delta.narrow(-1, D, D);
    v_in = v_in + delta.narrow(-1, 2 * D, D);
  }
  torch::Tensor q = split_heads(q_in), k = split_heads(k_in), v = split_heads(v_in);
  if (rope_cos.defined()) {
    // RoPE on the patch tokens only; CLS and registers keep their content.
    const auto patches = rope_cos.size(0), prefix = N - patches;
    q = torch::cat({q.narrow(2, 0, prefix), rotate(q.narrow(2, prefix, patches), rope_cos, rope_sin)}, 2);
    k = torch::cat({k.narrow(2, 0, prefix), rotate(k.narrow(2, prefix, patches), rope_cos, rope_sin)}, 2);
  }
  const torch::Tensor out = at::scaled_dot_product_attention(q, k, v);
  return o_->forward(out.transpose(1, 2).reshape({B, N, H * d}));
}

torch::Tensor VitBlockImpl::mlp(const torch::Tensor& x) {
  if (config_.gated_mlp) return down_->forward(activate(gate_->forward(x), config_.activation) * up_->forward(x));
  return down_->forward(activate(up_->forward(x), config_.activation));
}

torch::Tensor VitBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& rope_cos,
                                    const torch::Tensor& rope_sin) {
  const torch::Tensor h = x + attention(norm1_->forward(x), rope_cos, rope_sin) * scale1_;
  return h + mlp(norm2_->forward(h)) * scale2_;
}

VisionTransformerImpl::VisionTransformerImpl(const VitConfig& config) : config_(config) {
  config.validate();
  const auto D = config.hidden;
  auto embeddings = register_module("embeddings", std::make_shared<ParameterHolder>());
  cls_token_ = embeddings->add("cls_token", torch::zeros({1, 1, D}));
  if (config.registers > 0) register_tokens_ = embeddings->add("register_tokens", torch::zeros({1, config.registers, D}));
  if (config.family == VitFamily::kDinov2) {
    const auto positions = config.position_grid * config.position_grid + 1;
    position_embeddings_ = embeddings->add("position_embeddings", torch::zeros({1, positions, D}));
  }
  patch_embeddings_ = embeddings->child(
      "patch_embeddings", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, D, config.patch).stride(config.patch)));
  auto layers = register_module("layer", std::make_shared<ParameterHolder>());
  for (std::int64_t i = 0; i < config.depth; ++i) blocks_.push_back(layers->child(std::to_string(i), VitBlock(config)));
  norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({D}).eps(config.layer_norm_eps)));
}

namespace {

// One block under activation checkpointing, as torch.utils.checkpoint does it: the forward runs
// without a graph and saves only the block's input; the backward runs the block again with
// gradients on and differentiates that graph for the input and for the block's trainable
// parameters (its LoRA adapters). The parameters are inputs of the function so that autograd
// calls its backward even when nothing before the block needs a gradient (the frozen patch
// embedding), and so that their gradients flow back through the engine as usual. (They must come
// as a TensorList: autograd counts each of its tensors as an input, a std::vector as none.)
struct CheckpointedBlock : torch::autograd::Function<CheckpointedBlock> {
  // The RoPE tables (undefined for DINOv2) come as one non-tensor argument: they need no gradient,
  // and autograd cannot describe an undefined tensor input.
  using Rope = std::pair<torch::Tensor, torch::Tensor>;

  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               at::TensorList parameters, VitBlockImpl* block, const Rope& rope) {
    ctx->save_for_backward({x});
    if (rope.first.defined()) {
      ctx->saved_data["rope_cos"] = rope.first;
      ctx->saved_data["rope_sin"] = rope.second;
    }
    // The block belongs to the backbone, which outlives every graph built from its forward.
    ctx->saved_data["block"] = reinterpret_cast<std::int64_t>(block);
    ctx->saved_data["x_needs_grad"] = x.requires_grad();
    ctx->saved_data["parameters"] = static_cast<std::int64_t>(parameters.size());
    return block->forward(x, rope.first, rope.second);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    auto* block = reinterpret_cast<VitBlockImpl*>(ctx->saved_data["block"].toInt());
    const bool x_needs_grad = ctx->saved_data["x_needs_grad"].toBool();
    torch::Tensor rope_cos, rope_sin;
    if (ctx->saved_data.count("rope_cos") > 0) {
      rope_cos = ctx->saved_data["rope_cos"].toTensor();
      rope_sin = ctx->saved_data["rope_sin"].toTensor();
    }
    std::vector<torch::Tensor> parameters;
    for (const auto& p : block->parameters()) {
      if (p.requires_grad()) parameters.push_back(p);
    }
    TORCH_CHECK(static_cast<std::int64_t>(parameters.size()) == ctx->saved_data["parameters"].toInt(),
                "activation checkpointing: the block's trainable parameters changed between forward and backward");
    const torch::Tensor x = ctx->get_saved_variables()[0].detach().requires_grad_(x_needs_grad);
    torch::Tensor y;
    {
      torch::AutoGradMode grad_on(true);
      y = block->forward(x, rope_cos, rope_sin);
    }
    std::vector<torch::Tensor> wrt;
    if (x_needs_grad) wrt.push_back(x);
    wrt.insert(wrt.end(), parameters.begin(), parameters.end());
    const auto grads = torch::autograd::grad({y}, wrt, {grad_outputs[0]}, /*retain_graph=*/false,
                                             /*create_graph=*/false, /*allow_unused=*/true);
    // One gradient per input of forward, the parameter list flattened: x, parameters..., block,
    // rope.
    torch::autograd::variable_list out = {x_needs_grad ? grads[0] : torch::Tensor()};
    out.insert(out.end(), grads.begin() + (x_needs_grad ? 1 : 0), grads.end());
    out.emplace_back();
    out.emplace_back();
    return out;
  }
};

}  // namespace

void VisionTransformerImpl::enable_lora(std::int64_t rank, double alpha) {
  for (auto& p : parameters()) p.set_requires_grad(false);
  for (auto& block : blocks_) block->add_lora(rank, alpha);
}

torch::Tensor VisionTransformerImpl::resized_position_embeddings(std::int64_t rows, std::int64_t cols) {
  const auto grid = config_.position_grid;
  if (rows == grid && cols == grid) return position_embeddings_;
  const auto D = config_.hidden;
  const torch::Tensor cls = position_embeddings_.narrow(1, 0, 1);
  torch::Tensor patches = position_embeddings_.narrow(1, 1, grid * grid).reshape({1, grid, grid, D}).permute({0, 3, 1, 2});
  // Hugging Face resizes in float32 to the exact target size (no scale-factor offset).
  patches = resize_bicubic(patches.to(torch::kFloat32), rows, cols, config_.position_antialias)
                .to(position_embeddings_.scalar_type());
  return torch::cat({cls, patches.permute({0, 2, 3, 1}).reshape({1, rows * cols, D})}, 1);
}

std::pair<torch::Tensor, torch::Tensor> VisionTransformerImpl::rope(std::int64_t rows, std::int64_t cols,
                                                                    const torch::Tensor& like) {
  // Patch centres in [-1, 1] per axis, (y, x) per token in row-major order; frequencies
  // 1 / theta^(4i/d); angles laid out [y f..., x f..., y f..., x f...]. Computed in float32.
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(like.device());
  const torch::Tensor ys = torch::arange(0.5, static_cast<double>(rows), 1.0, f32) / rows;
  const torch::Tensor xs = torch::arange(0.5, static_cast<double>(cols), 1.0, f32) / cols;
  const auto mesh = torch::meshgrid({ys, xs}, "ij");
  const torch::Tensor coords = 2.0 * torch::stack({mesh[0], mesh[1]}, -1).reshape({rows * cols, 2}) - 1.0;
  const torch::Tensor inv_freq =
      torch::reciprocal(torch::pow(config_.rope_theta, torch::arange(0.0, 1.0, 4.0 / config_.head_dim(), f32)));
  const torch::Tensor angles =
      (2 * M_PI * coords.unsqueeze(-1) * inv_freq.view({1, 1, -1})).flatten(1, 2).repeat({1, 2});
  return {torch::cos(angles).to(like.scalar_type()), torch::sin(angles).to(like.scalar_type())};
}

torch::Tensor VisionTransformerImpl::embed(const torch::Tensor& images) {
  const auto B = images.size(0);
  const torch::Tensor patches = patch_embeddings_->forward(images.to(patch_embeddings_->weight.scalar_type()));
  const auto rows = patches.size(2), cols = patches.size(3);
  torch::Tensor tokens = torch::cat({cls_token_.expand({B, 1, config_.hidden}), patches.flatten(2).transpose(1, 2)}, 1);
  if (config_.family == VitFamily::kDinov2) tokens = tokens + resized_position_embeddings(rows, cols);
  if (config_.registers > 0) {
    tokens = torch::cat({tokens.narrow(1, 0, 1), register_tokens_.expand({B, config_.registers, config_.hidden}),
                         tokens.narrow(1, 1, rows * cols)},
                        1);
  }
  return tokens;
}

std::vector<torch::Tensor> VisionTransformerImpl::forward(const torch::Tensor& images, const std::vector<int>& taps) {
  if (images.dim() != 4 || images.size(1) != 3) {
    throw UsageError(fmt::format("ViT: expected images (B, 3, H, W), got ({})", fmt::join(images.sizes(), ", ")));
  }
  const auto H = images.size(2), W = images.size(3), p = config_.patch;
  if (H % p != 0 || W % p != 0) {
    throw UsageError(fmt::format("ViT: input size {}x{} is not divisible by the patch size {} (use a multiple of {})",
                                 H, W, p, p));
  }
  int last_needed = -1;
  for (int tap : taps) {
    if (tap < -1 || tap >= config_.depth) {
      throw UsageError(fmt::format("ViT: layer {} does not exist (the model has blocks 0..{})", tap, config_.depth - 1));
    }
    last_needed = tap == -1 ? static_cast<int>(config_.depth) - 1 : std::max(last_needed, tap);
  }
  torch::Tensor x = embed(images);
  torch::Tensor cos, sin;
  if (config_.family == VitFamily::kDinov3) std::tie(cos, sin) = rope(H / p, W / p, x);
  std::vector<torch::Tensor> block_outputs(config_.depth);
  // Checkpointing applies only where a backward will come.
  const bool checkpoint = checkpoint_blocks_ && torch::GradMode::is_enabled();
  for (int i = 0; i <= last_needed; ++i) {
    std::vector<torch::Tensor> trainable;
    if (checkpoint) {
      for (const auto& parameter : blocks_[i]->parameters()) {
        if (parameter.requires_grad()) trainable.push_back(parameter);
      }
    }
    if (checkpoint && (!trainable.empty() || x.requires_grad())) {
      x = CheckpointedBlock::apply(x, at::TensorList(trainable), blocks_[i].get(), CheckpointedBlock::Rope{cos, sin});
    } else {
      x = blocks_[i]->forward(x, cos, sin);
    }
    block_outputs[i] = x;
  }
  std::vector<torch::Tensor> out;
  for (int tap : taps) out.push_back(tap == -1 ? norm_->forward(block_outputs.back()) : block_outputs[tap]);
  return out;
}

}  // namespace lidere::backbones
