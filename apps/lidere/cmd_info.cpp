// lidere info --backbone PATH: what a backbone checkpoint is and what features it gives.
#include <memory>
#include <string>

#include <fmt/format.h>

#include "apps/lidere/commands.h"
#include "backbones/registry.h"
#include "inference/options.h"
#include "core/errors.h"

namespace lidere::cli {
namespace {

struct InfoOptions {
  inference::SharedOptions shared;
  std::vector<std::int64_t> size = {512, 512};
  std::vector<int> layers;
};

int run(const InfoOptions& options) {
  if (options.size.size() != 2 && options.size.size() != 1) throw UsageError("--size takes ROWS [COLS]");
  const auto rows = options.size[0], cols = options.size.size() == 2 ? options.size[1] : options.size[0];
  const std::string spec = options.shared.backbone.empty() ? inference::kDefaultBackbone : options.shared.backbone;
  const auto backbone = backbones::open_backbone(spec, options.layers);
  const auto shape = backbone->feature_shape(rows, cols);
  fmt::print("backbone:     {}\n", spec);
  fmt::print("architecture: {}\n", backbone->describe());
  fmt::print("parameters:   {} ({:.1f} M)\n", backbone->parameter_count(), backbone->parameter_count() / 1e6);
  fmt::print("input:        {}x{} px (stride {})\n", rows, cols, backbone->stride());
  fmt::print("features:     {} channels on a {}x{} grid ({} tokens)\n", shape.channels, shape.grid.rows,
             shape.grid.cols, shape.grid.tokens());
  return static_cast<int>(ExitCode::kOk);
}

}  // namespace

CommandAction add_info(CLI::App& app) {
  auto options = std::make_shared<InfoOptions>();
  CLI::App* cmd = app.add_subcommand("info",
                                     "Describe a backbone: the architecture found, its parameter count, "
                                     "and the feature grid and channels for an input size");
  inference::add_shared_options(*cmd, options->shared, {inference::Shared::kBackbone});
  cmd->add_option("--size", options->size, "Input size in pixels: ROWS [COLS] (default 512 512)")->expected(1, 2);
  cmd->add_option("--layers", options->layers,
                  "Blocks whose outputs are concatenated after the final one (default: [3, 7, 10] for 12 blocks)")
      ->delimiter(',');
  return [options] { return run(*options); };
}

}  // namespace lidere::cli
