// lidere sample-data: writes the embedded default dataset (datasets/sample_dataset.h).
#include <memory>
#include <string>

#include <fmt/format.h>

#include "apps/lidere/commands.h"
#include "core/errors.h"
#include "datasets/sample_dataset.h"

namespace lidere::cli {

CommandAction add_sample_data(CLI::App& app) {
  auto o = std::make_shared<datasets::SampleDatasetOptions>();
  CLI::App* cmd = app.add_subcommand("sample-data",
                                     "Generate the small default segmentation dataset (textured objects "
                                     "on photographs) used by the README's main job");
  cmd->add_option("--photos", o->photos, "Folder with scikit-image's sample photos (scripts/sample_photos.sh)")
      ->required();
  cmd->add_option("--out", o->out, "Output folder")->required();
  cmd->add_option("--train", o->train, "Training images (default 48)");
  cmd->add_option("--val", o->val, "Validation images (default 16)");
  cmd->add_option("--size", o->size, "Image size in pixels (default 256)");
  cmd->add_option("--seed", o->seed, "Random seed (default 0)");
  return [o] {
    datasets::write_sample_dataset(*o);
    fmt::print(stderr, "sample dataset written to {} ({} train, {} val images, 4 classes)\n", o->out, o->train, o->val);
    return static_cast<int>(ExitCode::kOk);
  };
}

}  // namespace lidere::cli
