#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/errors.h"
#include "core/safetensors_format.h"
#include "core/tensor_file.h"
#include "test_common.h"

namespace {

// Runs a Python snippet with the venv's torch; returns false when python or torch is missing.
bool run_python(const std::string& code) {
  const auto script = lidere::testing::scratch_dir("py") / "script.py";
  std::ofstream(script) << code;
  return std::system(fmt::format("\"{}\" \"{}\"", lidere::testing::python(), script.string()).c_str()) == 0;
}

std::string refusal(const std::string& path) {
  return lidere::testing::thrown_message<lidere::InputError>([&] { lidere::load_tensor_file(path); });
}

}  // namespace

CATCH_TEST_CASE(".pth state dicts saved by Python torch.save load by name", "[unit]") {
  const auto dir = lidere::testing::scratch_dir("pth");
  auto p = [&](const char* name) { return (dir / name).string(); };
  // Written by Python's torch, read back by us, compared against a safetensors copy that the
  // reference `safetensors` package wrote from the same tensors.
  const bool have_torch = run_python(fmt::format(R"(
import collections, os, torch
from safetensors.torch import save_file
torch.manual_seed(0)
m = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.LayerNorm(4))
sd = m.state_dict()                                  # an OrderedDict with _metadata
sd['extra.f64'] = torch.randn(2, 3, dtype=torch.float64)
sd['extra.f16'] = torch.randn(5).half()
sd['extra.bf16'] = torch.randn(5).bfloat16()
sd['extra.i64'] = torch.arange(6).view(2, 3)
sd['extra.bool'] = torch.tensor([True, False])
sd['extra.transposed'] = torch.randn(3, 5).t()       # non-contiguous view
big = torch.randn(10)
sd['extra.slice'] = big[2:7]                          # offset into a shared storage
sd['extra.scalar'] = torch.tensor(2.5)
torch.save(sd, '{0}')
torch.save({{'state_dict': sd, 'epoch': 3}}, '{1}')
torch.save(sd, '{2}', _use_new_zipfile_serialization=False)
torch.save({{'a': torch.zeros(2), 'b': 'text'}}, '{3}')
torch.save({{'w': torch.nn.Parameter(torch.ones(2))}}, '{4}')
save_file({{k: v.contiguous() for k, v in sd.items()}}, '{5}')
class Evil:
    def __reduce__(self):
        return (os.system, ('true',))
torch.save({{'x': Evil()}}, '{6}')
)", p("plain.pth"), p("wrapped.pth"), p("legacy.pth"), p("bad.pth"), p("param.pth"), p("reference.safetensors"),
                                                 p("evil.pth")));
  LIDERE_REQUIRE_AVAILABLE(have_torch, "python with torch and safetensors (scripts/bootstrap.sh)");
  const auto reference = lidere::load_safetensors(p("reference.safetensors"));
  for (const auto& path : {p("plain.pth"), p("wrapped.pth")}) {
    CATCH_INFO(path);
    const auto file = lidere::load_tensor_file(path);
    CATCH_REQUIRE(file.tensors.size() == reference.tensors.size());
    for (const auto& [name, t] : reference.tensors) {
      CATCH_INFO(name);
      CATCH_REQUIRE(file.at(name).scalar_type() == t.scalar_type());
      CATCH_REQUIRE(torch::equal(file.at(name), t));
    }
  }
  CATCH_REQUIRE(lidere::load_tensor_file(p("param.pth")).at("w").sum().item<double>() == 2.0);
  CATCH_REQUIRE_THAT(refusal(p("bad.pth")), Catch::Contains(p("bad.pth")) && Catch::Contains("'b' is not a tensor"));
  CATCH_REQUIRE(lidere::load_tensor_file(p("legacy.pth")).tensors.size() == reference.tensors.size());
  for (const auto& [name, t] : reference.tensors) {
    CATCH_INFO("legacy " << name);
    CATCH_REQUIRE(torch::equal(lidere::load_tensor_file(p("legacy.pth")).at(name), t));
  }
  CATCH_REQUIRE_THAT(refusal(p("evil.pth")), Catch::Contains("refusing to call") && Catch::Contains("system"));
  // A zip header with garbage behind it.
  std::ofstream(p("corrupt.pth"), std::ios::binary) << "PK\x03\x04 this is not really a zip archive";
  CATCH_REQUIRE_THAT(refusal(p("corrupt.pth")), Catch::Contains(p("corrupt.pth")));
}

CATCH_TEST_CASE("damaged .pth files never crash the reader", "[unit]") {
  const auto dir = lidere::testing::scratch_dir("pth_fuzz");
  const auto legacy = (dir / "legacy.pth").string(), zip = (dir / "zip.pth").string();
  LIDERE_REQUIRE_AVAILABLE(run_python(fmt::format(R"(
import torch
sd = torch.nn.Linear(3, 4).state_dict()
sd['t'] = torch.randn(3, 5).t()
torch.save(sd, '{0}', _use_new_zipfile_serialization=False)
torch.save(sd, '{1}')
)", legacy, zip)), "python with torch (scripts/bootstrap.sh)");
  std::mt19937 rng(11);
  int refused = 0, loaded = 0;
  for (const auto& source : {legacy, zip}) {
    std::ifstream in(source, std::ios::binary);
    const std::string original((std::istreambuf_iterator<char>(in)), {});
    for (int i = 0; i < 400; ++i) {
      std::string bytes = original;
      const int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits; ++e) {
        const std::size_t pos = rng() % bytes.size();
        if (rng() % 4 == 0) {
          bytes.resize(pos + 1);
        } else {
          bytes[pos] = static_cast<char>(rng());
        }
      }
      const auto path = (dir / "mutated.pth").string();
      std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
      try {
        lidere::load_tensor_file(path);
        ++loaded;
      } catch (const lidere::InputError& e) {
        CATCH_REQUIRE(std::string(e.what()).find(path) != std::string::npos);
        ++refused;
      }
    }
  }
  CATCH_REQUIRE(refused > 0);
  CATCH_INFO(loaded << " mutated files still loaded, " << refused << " refused");
}
