// The "+LoRA" variant: adapters on each block's qkv, gradients only there.
#include <fmt/format.h>
#include <torch/torch.h>

#include "backbones/vit.h"
#include "test_common.h"

using namespace lidere::backbones;

namespace {

VitConfig tiny_config() {
  VitConfig c;
  c.hidden = 32;
  c.depth = 2;
  c.heads = 2;
  c.intermediate = 64;
  c.patch = 8;
  return c;
}

void randomize(torch::nn::Module& m) {
  torch::NoGradGuard no_grad;
  for (auto& p : m.parameters()) p.normal_(0, 0.2);
}

}  // namespace

CATCH_TEST_CASE("LoRA on qkv: zero at init, gradients only reach the adapters, equals merged weights", "[unit]") {
  torch::manual_seed(0);
  VisionTransformer vit(tiny_config());
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
    VisionTransformer merged(tiny_config());
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
