// The "+LoRA" variant: adapters on each block's qkv, gradients only there.
#include <fmt/format.h>
#include <torch/torch.h>

#include "backbones/vit.h"
#include "test_common.h"
#include "test_tiny_vit.h"

using namespace lidere::backbones;
using lidere::testing::randomize;
using lidere::testing::tiny_vit_config;


CATCH_TEST_CASE("LoRA on qkv: zero at init, gradients only reach the adapters, equals merged weights", "[unit]") {
  torch::manual_seed(0);
  VisionTransformer vit(tiny_vit_config());
  randomize(*vit);
  const torch::Tensor images = torch::randn({2, 3, 16, 24});
  torch::Tensor before;
  {
    torch::NoGradGuard no_grad;
    before = vit->forward(images, {-1})[0];
  }
  vit->enable_lora(/*rank=*/4, /*alpha=*/8);
  const auto params = vit->named_parameters();
  CATCH_REQUIRE(params.contains("layer.0.attention.lora_A"));
  CATCH_REQUIRE(params["layer.1.attention.lora_B"].sizes() == torch::IntArrayRef({96, 4}));
  // B starts at zero, so the adapted model equals the frozen one.
  const torch::Tensor out = vit->forward(images, {-1})[0];
  CATCH_REQUIRE(torch::equal(out, before));
  out.pow(2).sum().backward();
  for (const auto& item : params) {
    CATCH_INFO(item.key());
    const bool adapter = item.key().find("lora_") != std::string::npos;
    CATCH_REQUIRE(item.value().requires_grad() == adapter);
    CATCH_REQUIRE(item.value().grad().defined() == adapter);
  }
  CATCH_REQUIRE(params["layer.0.attention.lora_B"].grad().abs().sum().item<double>() > 0);

  // With a non-zero B the model equals one whose q/k/v weights have the update merged in:
  // W_qkv + (alpha / rank) B A.
  {
    torch::NoGradGuard no_grad;
    for (int i = 0; i < 2; ++i) params[fmt::format("layer.{}.attention.lora_B", i)].normal_(0, 0.3);
    const torch::Tensor adapted = vit->forward(images, {-1})[0];
    VisionTransformer merged(tiny_vit_config());
    auto merged_params = merged->named_parameters();
    for (const auto& item : merged_params) item.value().copy_(params[item.key()]);
    for (int i = 0; i < 2; ++i) {
      const auto prefix = fmt::format("layer.{}.attention.", i);
      const torch::Tensor update = params[prefix + "lora_B"].matmul(params[prefix + "lora_A"]) * (8.0 / 4.0);
      const auto parts = update.chunk(3, 0);
      merged_params[prefix + "q_proj.weight"].add_(parts[0]);
      merged_params[prefix + "k_proj.weight"].add_(parts[1]);
      merged_params[prefix + "v_proj.weight"].add_(parts[2]);
    }
    CATCH_REQUIRE(torch::allclose(merged->forward(images, {-1})[0], adapted, 1e-5, 1e-5));
    CATCH_REQUIRE(!torch::allclose(adapted, before, 1e-3, 1e-3));
  }
}

CATCH_TEST_CASE("activation checkpointing: the same outputs and gradients, adapters and input", "[unit]") {
  // Outputs (0, 1) bit-identical; the input's (2) and every adapter's gradient to float rounding.
  for (const VitFamily family : {VitFamily::kDinov2, VitFamily::kDinov3}) {
    CATCH_INFO((family == VitFamily::kDinov2 ? "DINOv2" : "DINOv3 (RoPE)"));
    VitConfig c = tiny_vit_config();
    c.family = family;
    c.registers = family == VitFamily::kDinov2 ? 0 : 2;
    c.position_grid = 3;
    c.depth = 3;
    torch::manual_seed(3);
    VisionTransformer vit(c);
    randomize(*vit);
    vit->enable_lora(/*rank=*/4, /*alpha=*/8);
    {
      torch::NoGradGuard no_grad;
      for (auto& item : vit->named_parameters()) {
        if (item.key().ends_with("lora_B")) item.value().normal_(0, 0.3);
      }
    }
    const torch::Tensor images = torch::rand({2, 3, 16, 24});
    const torch::Tensor weights = torch::randn({2, 1 + c.registers + 6, c.hidden});
    // Two taps (a middle block and the final norm), so gradients enter the graph at two places.
    const auto run = [&](bool checkpointing) {
      vit->set_activation_checkpointing(checkpointing);
      for (auto& p : vit->parameters()) p.mutable_grad() = torch::Tensor();
      const torch::Tensor input = images.clone().requires_grad_(true);
      const auto out = vit->forward(input, {-1, 1});
      (out[0] * weights).sum().add((out[1] * weights).pow(2).sum()).backward();
      std::vector<torch::Tensor> result = {out[0].detach(), out[1].detach(), input.grad()};
      for (const auto& item : vit->named_parameters()) {
        if (item.value().requires_grad()) result.push_back(item.value().grad().clone());
      }
      return result;
    };
    const auto plain = run(false), checkpointed = run(true);
    CATCH_REQUIRE(torch::equal(plain[0], checkpointed[0]));
    CATCH_REQUIRE(torch::equal(plain[1], checkpointed[1]));
    CATCH_REQUIRE(plain.size() == 3 + 2 * static_cast<std::size_t>(c.depth));
    CATCH_REQUIRE(checkpointed.size() == plain.size());
    for (std::size_t i = 0; i < plain.size(); ++i) {
      CATCH_INFO(i);
      CATCH_REQUIRE(plain[i].defined());
      CATCH_REQUIRE(plain[i].abs().sum().item<double>() > 0);
      const double scale = plain[i].abs().max().item<double>();
      CATCH_INFO("largest difference " << (plain[i] - checkpointed[i]).abs().max().item<double>() / scale
                                       << " of the largest value");
      // Equal to float rounding: the recomputed block is the same forward, but autograd sums the
      // gradient paths of a leaf input in another order than those of an inner node (seen: up
      // to 1.9e-7 of the largest value; outputs are bit-identical).
      CATCH_REQUIRE((plain[i] - checkpointed[i]).abs().max().item<double>() <= 1e-6 * scale);
    }
    // Without gradients it is the plain forward.
    torch::NoGradGuard no_grad;
    CATCH_REQUIRE(torch::equal(vit->forward(images, {-1})[0], plain[0]));
  }
}
