// lidere inspect FILE: list the tensors and metadata of a safetensors or .pth file.
#include <memory>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "apps/lidere/commands.h"
#include "core/errors.h"
#include "core/tensor_file.h"

namespace lidere::cli {
namespace {

struct InspectOptions {
  std::string file;
  bool stats = false;
};

int run(const InspectOptions& options) {
  const TensorFile file = load_tensor_file(options.file);
  fmt::print("{}: {} tensors\n", file.source, file.tensors.size());
  std::int64_t total = 0;
  for (const auto& [name, t] : file.tensors) {
    total += t.numel();
    fmt::print("  {:<56} {:<9} ({})", name, c10::toString(t.scalar_type()), fmt::join(t.sizes(), ", "));
    if (options.stats && t.numel() > 0 && (t.is_floating_point() || t.scalar_type() == torch::kInt64)) {
      const torch::Tensor d = t.to(torch::kFloat64);
      fmt::print("  min {:.4g} max {:.4g} mean {:.4g}", d.min().item<double>(), d.max().item<double>(),
                 d.mean().item<double>());
    }
    fmt::print("\n");
  }
  fmt::print("  {} elements in all\n", total);
  if (!file.metadata.empty()) {
    fmt::print("metadata:\n");
    for (const auto& [key, value] : file.metadata) {
      fmt::print("  {}: {}\n", key, value.size() > 160 ? value.substr(0, 157) + "..." : value);
    }
  }
  return static_cast<int>(ExitCode::kOk);
}

}  // namespace

CommandAction add_inspect(CLI::App& app) {
  auto options = std::make_shared<InspectOptions>();
  CLI::App* cmd = app.add_subcommand("inspect",
                                     "List the tensors (name, dtype, shape) and metadata of a "
                                     "safetensors file or a PyTorch .pth state dict");
  cmd->add_option("file", options->file, "A .safetensors or .pth file")->required()->check(CLI::ExistingFile);
  cmd->add_flag("--stats", options->stats, "Also print min, max and mean of every numeric tensor");
  return [options] { return run(*options); };
}

}  // namespace lidere::cli
