// TorchScript backbones follow the documented contract (lib/backbones/torchscript_backbone.h).
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <torch/torch.h>

#include "backbones/registry.h"
#include "backbones/torchscript_backbone.h"
#include "core/errors.h"
#include "core/tensor_file.h"
#include "test_common.h"

CATCH_TEST_CASE("TorchScript backbones: scripted and traced modules give the contract's features", "[parity]") {
  namespace fs = std::filesystem;
  const fs::path dir = lidere::testing::scratch_dir("torchscript");
  const fs::path script = fs::path(LIDERE_SOURCE_DIR) / "tests/backbones/make_torchscript_reference.py";
  if (std::system(fmt::format("\"{}\" \"{}\" \"{}\" > /dev/null 2>&1", lidere::testing::python(), script.string(),
                              dir.string())
                      .c_str()) != 0) {
    CATCH_FAIL("make_torchscript_reference.py failed (python with torch missing? run scripts/bootstrap.sh)");
  }
  const auto reference = lidere::load_safetensors((dir / "reference.safetensors").string());
  torch::NoGradGuard no_grad;
  for (const char* file : {"scripted.pt", "traced.pt"}) {
    CATCH_INFO(file);
    const auto backbone = lidere::backbones::open_backbone((dir / file).string());
    const auto shape = backbone->feature_shape(64, 96);
    CATCH_REQUIRE(shape.channels == 32);
    CATCH_REQUIRE(shape.grid == lidere::GridSize{4, 6});
    CATCH_REQUIRE(backbone->stride() == 16);
    const torch::Tensor features = backbone->features(reference.at("images"));
    CATCH_REQUIRE((features - reference.at("features")).abs().max().item<double>() < 1e-5);
  }
  std::ofstream(dir / "broken.pt", std::ios::binary) << "PK\x03\x04 not a module";
  CATCH_REQUIRE_THAT(lidere::testing::thrown_message<lidere::InputError>(
                         [&] { lidere::backbones::TorchScriptBackbone((dir / "broken.pt").string()); }),
                     Catch::Contains("broken.pt") && Catch::Contains("not a loadable TorchScript module"));
}
