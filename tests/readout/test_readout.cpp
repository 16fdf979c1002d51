#include <torch/torch.h>

#include "core/errors.h"
#include "readout/lidere_model.h"
#include "test_common.h"

using namespace lidere::readout;

namespace {

ReadoutConfig config_for(int64_t channels, GridSize feature_grid, GridSize base_grid, int64_t classes) {
  ReadoutConfig c;
  c.feature_channels = channels;
  c.feature_grid = feature_grid;
  c.base_grid = base_grid;
  c.classes = classes;
  return c;
}

int64_t trainable(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.requires_grad() ? p.numel() : 0;
  return n;
}

}  // namespace

CATCH_TEST_CASE("trainable parameter counts equal the official model's (method.md 2.6)", "[unit]") {
  // ViT-B: four concatenated 768-channel layers, 32x32 features, 64x64 base grid.
  const std::pair<int64_t, int64_t> expected[] = {{1, 272090}, {2, 272172}, {3, 272254}, {21, 273730}, {39, 278848}};
  for (const auto& [classes, count] : expected) {
    CATCH_INFO(classes << " classes");
    CATCH_REQUIRE(trainable(*LiDeRe(config_for(3072, {32, 32}, {64, 64}, classes))) == count);
  }
  MultiHeadConfig plantdoc;
  plantdoc.base = config_for(3072, {32, 32}, {64, 64}, 1);
  plantdoc.outputs = {{"centers_gauss", 1}, {"centers_size", 2}, {"class_embeddings", 4}};
  plantdoc.out_bias = {-5, 0, 0};
  plantdoc.embed_in = 4;
  plantdoc.embed_out = 28;
  CATCH_REQUIRE(trainable(*LiDeReMulti(plantdoc)) == 816738);
}

CATCH_TEST_CASE("forward shapes on square and rectangular grids", "[unit]") {
  torch::manual_seed(0);
  LiDeRe model(config_for(24, {3, 5}, {6, 10}, 4));
  const auto out = model->forward(torch::randn({2, 24, 1, 3, 5}));
  CATCH_REQUIRE(out.sizes() == torch::IntArrayRef({2, 4, 1, 24, 40}));
  CATCH_REQUIRE(model->forward(torch::randn({1, 24, 3, 5})).sizes() == torch::IntArrayRef({1, 4, 1, 24, 40}));
  CATCH_REQUIRE_THROWS_AS(model->forward(torch::randn({1, 24, 5, 3})), lidere::UsageError);
  CATCH_REQUIRE_THROWS_WITH(model->forward(torch::randn({1, 23, 3, 5})), Catch::Contains("(B, 24, 1, 3, 5)"));
}

CATCH_TEST_CASE("official initialisation of the prior and the output bias", "[unit]") {
  auto c = config_for(8, {4, 4}, {8, 8}, 3);
  c.out_bias = -5;
  LiDeRe model(c);
  const auto skip = model->interpolation()->implicit_net->skip->weight;
  CATCH_REQUIRE(skip.sizes() == torch::IntArrayRef({8, 4}));
  CATCH_REQUIRE((skip.narrow(1, 2, 2) == -3).all().item<bool>());
  CATCH_REQUIRE((skip.narrow(1, 0, 2) >= 0).all().item<bool>());
  CATCH_REQUIRE((skip.narrow(1, 0, 2) <= 0.01).all().item<bool>());
  // Both final biases carry out_bias, so an all-zero input gives about 2 * out_bias.
  const auto params = model->named_parameters();
  const auto main_bias = params["mlp.out_mlp.8.bias"], skip_bias = params["mlp.skip_mlp.1.bias"];
  CATCH_REQUIRE((main_bias < -4).all().item<bool>());
  CATCH_REQUIRE((skip_bias < -4).all().item<bool>());
  // At initialisation the prior is nearly flat (the layer starts close to average pooling).
  torch::NoGradGuard no_grad;
  const auto w = torch::softmax(model->interpolation()->prior(), 1);
  CATCH_REQUIRE(w.max().item<double>() < 5.0 / 16);
}

CATCH_TEST_CASE("the interpolation matrix is cached without gradients and recomputed with them", "[unit]") {
  torch::manual_seed(1);
  LiDeRe model(config_for(8, {4, 4}, {8, 8}, 2));
  auto prior = model->interpolation()->implicit_net;
  const auto features = torch::randn({2, 8, 4, 4});
  torch::Tensor first;
  {
    torch::NoGradGuard no_grad;
    first = model->forward(features);
    model->forward(features);
    CATCH_REQUIRE(prior->evaluations() == 1);
  }
  // Training passes recompute it (the prior's weights get gradients).
  model->forward(features).sum().backward();
  model->forward(features).sum().backward();
  CATCH_REQUIRE(prior->evaluations() == 3);
  CATCH_REQUIRE(prior->net->named_parameters()["0.weight"].grad().defined());
  {
    torch::NoGradGuard no_grad;
    CATCH_REQUIRE(torch::allclose(model->forward(features), first));
    CATCH_REQUIRE(prior->evaluations() == 3);  // still cached
    // An in-place weight update (an optimiser step) invalidates the cache.
    prior->skip->weight.add_(0.5);
    const auto changed = model->forward(features);
    CATCH_REQUIRE(prior->evaluations() == 4);
    CATCH_REQUIRE(!torch::allclose(changed, first));
    // Moving to float64 gives a new matrix in the new dtype.
    model->to_device(torch::kCPU, torch::kFloat64);
    CATCH_REQUIRE(model->forward(features.to(torch::kFloat64)).scalar_type() == torch::kFloat64);
    CATCH_REQUIRE(prior->evaluations() == 5);
  }
}

CATCH_TEST_CASE("positional-query variant: queries from target positions, gradients reach proj_q", "[unit]") {
  torch::manual_seed(2);
  auto c = config_for(8, {4, 6}, {8, 12}, 2);
  c.queries = QueryMode::kPositional;
  LiDeRe model(c);
  CATCH_REQUIRE(model->interpolation()->proj_q->weight.sizes() == torch::IntArrayRef({16, 16}));
  model->forward(torch::randn({1, 8, 4, 6})).pow(2).sum().backward();
  CATCH_REQUIRE(model->interpolation()->proj_q->weight.grad().abs().sum().item<double>() > 0);
  // The released (zero-map) readout's proj_q.weight gets an exact-zero gradient, as officially.
  LiDeRe released(config_for(8, {4, 6}, {8, 12}, 2));
  released->forward(torch::randn({1, 8, 4, 6})).pow(2).sum().backward();
  CATCH_REQUIRE(released->interpolation()->proj_q->weight.grad().abs().sum().item<double>() == 0);
}

CATCH_TEST_CASE("multi-head readout: one head per output plus embed_proj", "[unit]") {
  torch::manual_seed(3);
  MultiHeadConfig c;
  c.base = config_for(8, {2, 3}, {4, 6}, 1);
  c.outputs = {{"centers_gauss", 1}, {"centers_size", 2}, {"class_embeddings", 4}};
  c.out_bias = {-5, 0, 0};
  c.embed_in = 4;
  c.embed_out = 6;
  LiDeReMulti model(c);
  const auto out = model->forward(torch::randn({2, 8, 1, 2, 3}));
  CATCH_REQUIRE(out.at("centers_gauss").sizes() == torch::IntArrayRef({2, 1, 1, 16, 24}));
  CATCH_REQUIRE(out.at("centers_size").sizes() == torch::IntArrayRef({2, 2, 1, 16, 24}));
  CATCH_REQUIRE(out.at("class_logits").sizes() == torch::IntArrayRef({2, 16, 24, 6}));
  CATCH_REQUIRE(model->named_parameters().contains("heads.centers_size.layers.1.proj_v.weight"));
  CATCH_REQUIRE(model->named_parameters().contains("embed_proj.weight"));
  c.out_bias = {1, 2};
  CATCH_REQUIRE_THROWS_AS(LiDeReMulti(c), lidere::UsageError);
}

CATCH_TEST_CASE("invalid readout configurations name the field", "[unit]") {
  auto c = config_for(8, {4, 4}, {8, 8}, 2);
  c.heads = 3;
  CATCH_REQUIRE_THROWS_WITH(LiDeRe(c), Catch::Contains("heads"));
  c = config_for(8, {4, 4}, {0, 8}, 2);
  CATCH_REQUIRE_THROWS_WITH(LiDeRe(c), Catch::Contains("base_grid"));
  c = config_for(8, {4, 4}, {8, 8}, 0);
  CATCH_REQUIRE_THROWS_WITH(LiDeRe(c), Catch::Contains("classes"));
}
