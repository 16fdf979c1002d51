#include <torch/torch.h>

#include "core/errors.h"
#include "core/tensor_file.h"
#include "readout/lidere_model.h"
#include "readout/weights.h"
#include "test_common.h"

using namespace lidere::readout;
using lidere::state_dict;

namespace {

ReadoutConfig small_config(int64_t classes) {
  ReadoutConfig c;
  c.feature_channels = 12;
  c.feature_grid = {2, 3};
  c.base_grid = {4, 6};
  c.classes = classes;
  return c;
}

}  // namespace

CATCH_TEST_CASE("a saved state dict loads back into a fresh model exactly", "[unit]") {
  torch::manual_seed(0);
  LiDeRe a(small_config(3)), b(small_config(3));
  const auto path = (lidere::testing::scratch_dir("state_dict") / "w.safetensors").string();
  lidere::save_safetensors(path, state_dict(*a));
  const auto report = load_readout_weights(*b, lidere::load_safetensors(path));
  CATCH_REQUIRE(report.ok());
  const auto features = torch::randn({1, 12, 2, 3});
  torch::NoGradGuard no_grad;
  CATCH_REQUIRE(torch::equal(a->forward(features), b->forward(features)));
  // The official key names, buffers included.
  const auto names = state_dict(*a);
  for (const char* key : {"layers.0.proj.0.weight", "layers.1.feats_pe", "layers.1.q", "layers.1.implicit_net.net.4.bias",
                          "layers.1.implicit_net.skip.weight", "layers.1.norm2.weight", "mlp.out_mlp.6.weight",
                          "mlp.skip_mlp.1.bias"}) {
    CATCH_INFO(key);
    CATCH_REQUIRE(names.count(key) == 1);
  }
  CATCH_REQUIRE(names.at("mlp.out_mlp.2.weight").sizes() == torch::IntArrayRef({16, 16, 1, 2, 2}));
}

CATCH_TEST_CASE("mismatched checkpoints are refused with every bad key named", "[unit]") {
  LiDeRe three(small_config(3)), five(small_config(5));
  lidere::TensorFile file;
  file.source = "other.safetensors";
  file.tensors = state_dict(*three);
  file.tensors.erase("layers.1.linear2.weight");
  file.tensors["layers.9.extra"] = torch::zeros({1});
  file.tensors["layers.1.inp"] = torch::zeros({6, 24, 8});  // official coordinates: rebuilt, ignored
  const auto before = state_dict(*five).at("layers.0.proj.0.bias").clone();
  try {
    load_readout_weights(*five, file);
    CATCH_FAIL("expected an error");
  } catch (const lidere::InputError& e) {
    const std::string message = e.what();
    CATCH_REQUIRE_THAT(message, Catch::Contains("other.safetensors"));
    CATCH_REQUIRE_THAT(message, Catch::Contains("missing: layers.1.linear2.weight"));
    CATCH_REQUIRE_THAT(message, Catch::Contains("unexpected: layers.9.extra"));
    CATCH_REQUIRE_THAT(message, Catch::Contains("wrong shape: mlp.out_mlp.8.bias: file (3) vs model (5)"));
    CATCH_REQUIRE_THAT(message, !Catch::Contains("layers.1.inp"));
  }
  // Nothing was loaded from the refused file.
  CATCH_REQUIRE(torch::equal(state_dict(*five).at("layers.0.proj.0.bias"), before));
  const auto report = load_readout_weights(*five, file, /*strict=*/false);
  CATCH_REQUIRE(report.ignored == std::vector<std::string>{"layers.1.inp"});
  CATCH_REQUIRE(!report.ok());
}
