#include <cstdlib>
#include <fstream>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/errors.h"
#include "core/tensor_file.h"
#include "test_common.h"

namespace {

// Runs a Python snippet with the venv's torch; returns false when python or torch is missing.
bool run_python(const std::string& code) {
  const auto script = lidere::testing::scratch_dir("py") / "script.py";
  std::ofstream(script) << code;
  return std::system(fmt::format("\"{}\" \"{}\"", lidere::testing::python(), script.string()).c_str()) == 0;
}

}  // namespace

CATCH_TEST_CASE(".pth state dicts saved by Python torch.save load by name", "[unit]") {
  const auto dir = lidere::testing::scratch_dir("pth");
  const auto plain = (dir / "plain.pth").string(), wrapped = (dir / "wrapped.pth").string(),
             legacy = (dir / "legacy.pth").string(), bad = (dir / "bad.pth").string();
  const bool have_torch = run_python(fmt::format(R"(
import collections, torch
sd = collections.OrderedDict()
sd['layers.0.proj.0.weight'] = torch.arange(6, dtype=torch.float32).view(2, 3, 1, 1)
sd['mlp.out_mlp.8.bias'] = torch.tensor([1.5, -2.0], dtype=torch.float64)
torch.save(sd, '{0}')
torch.save({{'state_dict': sd, 'epoch': 3}}, '{1}')
torch.save(sd, '{2}', _use_new_zipfile_serialization=False)
torch.save({{'a': torch.zeros(2), 'b': 'text'}}, '{3}')
)", plain, wrapped, legacy, bad));
  if (!have_torch) {
    CATCH_WARN("python with torch not available: skipping .pth tests (run scripts/bootstrap.sh)");
    return;
  }
  for (const auto& path : {plain, wrapped, legacy}) {
    CATCH_INFO(path);
    const auto file = lidere::load_tensor_file(path);
    CATCH_REQUIRE(file.tensors.size() == 2);
    CATCH_REQUIRE(torch::equal(file.at("layers.0.proj.0.weight"), torch::arange(6, torch::kFloat32).view({2, 3, 1, 1})));
    CATCH_REQUIRE(file.at("mlp.out_mlp.8.bias").scalar_type() == torch::kFloat64);
  }
  CATCH_REQUIRE_THROWS_MATCHES(lidere::load_tensor_file(bad), lidere::InputError,
                               Catch::Matchers::Contains(bad) && Catch::Matchers::Contains("'b'"));
  // A zip header with garbage behind it.
  const auto corrupt = (dir / "corrupt.pth").string();
  std::ofstream(corrupt, std::ios::binary) << "PK\x03\x04 this is not really a zip archive";
  CATCH_REQUIRE_THROWS_MATCHES(lidere::load_tensor_file(corrupt), lidere::InputError, Catch::Matchers::Contains(corrupt));
}
