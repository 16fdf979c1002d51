// lidere predict: runs a trained readout on image files and folders (recursively), writing for
// each image, at the image's own resolution:
//   seg       an indexed palette PNG mask, a colour overlay, optionally the class probabilities;
//   boundary  the post-processed boundary map as an 8- or 16-bit PNG (tiled inference as the
//             official evaluation, or the whole image at once), an overlay, optionally the raw
//             probabilities.
#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "apps/lidere/commands.h"
#include "apps/lidere/pipeline.h"
#include "core/errors.h"
#include "core/image_io.h"
#include "core/plot.h"
#include "core/tensor_file.h"
#include "datasets/augment.h"
#include "datasets/label_png.h"
#include "datasets/segmentation.h"
#include "tasks/boundary/boundary_task.h"
#include "tasks/boundary/postprocess.h"
#include "tasks/boundary/tiling.h"
#include "tasks/segmentation/segmentation_task.h"
#include "train/prefetch.h"
#include "train/progress.h"
#include "train/run_dir.h"

namespace lidere::cli {
namespace {

namespace fs = std::filesystem;

struct PredictOptions {
  std::string weights, out, device = "cpu", backbone;
  std::vector<std::string> sources;
  std::int64_t batch = 4, workers = 2;
  bool probabilities = false, no_overlay = false, quiet = false, json = false;
  // boundary
  std::int64_t tile = 200, overlap = -1;  // overlap < 0: int(0.2 x tile), as the official
  int bits = 8;
  double nms_tolerance = -2;  // < -1: the checkpoint's (official 0.07); negative: no suppression
};

struct Input {
  fs::path file;
  std::string output_stem;  // relative path (without extension) under the output folders
};

// Every image under the sources, in a stable order, each with the name its outputs get: the path
// relative to the folder given (so sub-folders are kept), without the extension; where two
// images would share a name (a.jpg, a.png) the extension is kept in it.
std::vector<Input> collect_inputs(const std::vector<std::string>& sources) {
  std::vector<Input> inputs;
  for (const auto& source : sources) {
    const fs::path root(source);
    if (fs::is_directory(root)) {
      std::vector<fs::path> files;
      for (const auto& entry : fs::recursive_directory_iterator(root)) {
        if (entry.is_regular_file() && datasets::is_image_file(entry.path())) files.push_back(entry.path());
      }
      std::sort(files.begin(), files.end());
      for (const auto& f : files) inputs.push_back({f, fs::relative(f, root).replace_extension().string()});
    } else if (fs::is_regular_file(root)) {
      inputs.push_back({root, root.stem().string()});
    } else {
      throw InputError(fmt::format("{}: no such image file or folder", source));
    }
  }
  if (inputs.empty()) throw InputError("no images found in the given sources (JPEG, PNG, BMP, TIFF, WebP)");
  std::map<std::string, int> uses;
  for (const auto& in : inputs) ++uses[in.output_stem];
  for (auto& in : inputs) {
    if (uses[in.output_stem] > 1) in.output_stem += "_" + in.file.extension().string().substr(1);
  }
  return inputs;
}

struct LoadedBatch {
  std::vector<torch::Tensor> originals;
  torch::Tensor model_input;
};

fs::path output_folder(const PredictOptions& o, const std::string& task) {
  return o.out.empty() ? train::RunDir::create("runs", task, "predict").path() : fs::path(o.out);
}

void save_probabilities(const fs::path& file, const torch::Tensor& values, const nlohmann::json& names,
                        const fs::path& image) {
  fs::create_directories(file.parent_path());
  save_safetensors(file.string(), {{"probabilities", values.to(torch::kHalf)}},
                   {{"class_names", names.dump()}, {"image", image.string()}});
}

int predict_boundaries(TrainedModel& model, const std::vector<Input>& inputs, const PredictOptions& o) {
  if (o.bits != 8 && o.bits != 16) throw UsageError("--bits: 8 or 16");
  const tasks::boundary::TileSettings tiles = tasks::boundary::tile_settings(o.tile, o.overlap);
  const double tolerance =
      o.nms_tolerance < -1 ? model.checkpoint.meta.at("task").value("nms_tolerance", 0.07) : o.nms_tolerance;
  const fs::path out = output_folder(o, "boundary");
  const auto features = feature_function(*model.backbone, model.rows, model.cols);
  train::Progress progress("predict", static_cast<std::int64_t>(inputs.size()), progress_mode(o.quiet), 0, "img");
  torch::NoGradGuard no_grad;
  nlohmann::json written = nlohmann::json::array();
  for (std::size_t n = 0; n < inputs.size(); ++n) {
    const Input& input = inputs[n];
    const torch::Tensor image = read_image_rgb(input.file.string());
    const torch::Tensor p = predict_boundary_probabilities(model, features, image, tiles, o.batch);
    const std::vector<float> map = tasks::postprocess_boundaries(p, tolerance);
    const auto rows = p.size(0), cols = p.size(1);
    torch::Tensor levels;
    if (o.bits == 8) {
      const auto bytes = tasks::boundary::to_8bit(map);
      levels = torch::from_blob(const_cast<std::uint8_t*>(bytes.data()), {rows, cols}, torch::kUInt8).clone();
    } else {
      const auto words = tasks::boundary::to_16bit(map);
      levels =
          torch::tensor(std::vector<std::int32_t>(words.begin(), words.end()), torch::kInt32).reshape({rows, cols});
    }
    const fs::path map_file = out / "boundaries" / (input.output_stem + ".png");
    fs::create_directories(map_file.parent_path());
    write_gray_png(map_file.string(), levels, o.bits);
    nlohmann::json entry = {{"image", input.file.string()}, {"boundaries", map_file.string()}};
    if (!o.no_overlay) {
      // The photo in grey, boundaries in red by strength.
      const fs::path overlay_file = out / "overlays" / (input.output_stem + ".jpg");
      fs::create_directories(overlay_file.parent_path());
      const torch::Tensor strength =
          torch::from_blob(const_cast<float*>(map.data()), {1, rows, cols}, torch::kFloat).clone().clamp(0, 1);
      const torch::Tensor grey = (0.299 * image[0] + 0.587 * image[1] + 0.114 * image[2]).unsqueeze(0) * 0.7 + 0.15;
      const torch::Tensor red = torch::tensor({1.0f, 0.1f, 0.1f}).view({3, 1, 1});
      write_image_rgb(overlay_file.string(), grey.expand({3, rows, cols}) * (1 - strength) + red * strength);
      entry["overlay"] = overlay_file.string();
    }
    if (o.probabilities) {
      const fs::path prob_file = out / "probabilities" / (input.output_stem + ".safetensors");
      save_probabilities(prob_file, p.unsqueeze(0), nlohmann::json::array({"boundary"}), input.file);
      entry["probabilities"] = prob_file.string();
    }
    written.push_back(entry);
    progress.update(static_cast<std::int64_t>(n + 1));
  }
  progress.finish();
  if (!o.quiet) {
    fmt::print(stderr, "{} boundary maps ({}-bit, {}) in {}\n", inputs.size(), o.bits,
               tiles.size > 0 ? fmt::format("{} px tiles, {} px overlap", tiles.size, tiles.overlap) : "whole images",
               (out / "boundaries").string());
  }
  if (o.json)
    fmt::print("{}\n", nlohmann::json{{"weights", model.path}, {"out", out.string()}, {"outputs", written}}.dump(2));
  return static_cast<int>(ExitCode::kOk);
}

int run(const PredictOptions& o) {
  TrainedModel model = load_trained_model(o.weights, o.device, o.backbone);
  if (model.task->name() == "boundary") return predict_boundaries(model, collect_inputs(o.sources), o);
  const auto names = model.checkpoint.meta.at("task").at("class_names").get<std::vector<std::string>>();
  const auto classes = static_cast<std::int64_t>(names.size());
  const std::vector<Input> inputs = collect_inputs(o.sources);
  const fs::path out = output_folder(o, "seg");
  const auto palette = class_palette(classes);
  // Overlays skip the palette's black so that every class is visible on the photo.
  auto overlay_colours = class_palette(classes + 1);
  overlay_colours.erase(overlay_colours.begin());
  const torch::Tensor overlay_table =
      torch::from_blob(overlay_colours.data(), {classes, 3}, torch::kUInt8).to(torch::kFloat) / 255.0;

  const auto batches = static_cast<std::int64_t>((inputs.size() + static_cast<std::size_t>(o.batch) - 1) /
                                                 static_cast<std::size_t>(o.batch));
  const auto load = [&](std::int64_t b) {
    LoadedBatch loaded;
    std::vector<torch::Tensor> resized;
    for (std::int64_t i = b * o.batch;
         i < std::min<std::int64_t>(static_cast<std::int64_t>(inputs.size()), (b + 1) * o.batch); ++i) {
      loaded.originals.push_back(read_image_rgb(inputs[static_cast<std::size_t>(i)].file.string()));
      resized.push_back(datasets::resize_image(loaded.originals.back(), model.rows, model.cols));
    }
    loaded.model_input = torch::stack(resized);
    return loaded;
  };
  train::Prefetcher<LoadedBatch> prefetch(load, 0, batches, static_cast<int>(o.workers));
  train::Progress progress("predict", static_cast<std::int64_t>(inputs.size()), progress_mode(o.quiet), 0, "img");
  const auto features = feature_function(*model.backbone, model.rows, model.cols);
  torch::NoGradGuard no_grad;
  nlohmann::json written = nlohmann::json::array();
  std::int64_t done = 0;
  for (std::int64_t b = 0; b < batches; ++b) {
    const LoadedBatch batch = prefetch.next();
    const torch::Tensor logits =
        model.readout->forward(features(batch.model_input.to(model.device))).to(torch::kFloat).cpu();
    for (std::size_t i = 0; i < batch.originals.size(); ++i) {
      const Input& input = inputs[static_cast<std::size_t>(b * o.batch) + i];
      const torch::Tensor& image = batch.originals[i];
      const torch::Tensor scores =
          tasks::upsample_logits(logits.slice(0, static_cast<std::int64_t>(i), static_cast<std::int64_t>(i) + 1),
                                 image.size(1), image.size(2))[0];
      const torch::Tensor mask = scores.argmax(0);
      const fs::path mask_file = out / "masks" / (input.output_stem + ".png");
      fs::create_directories(mask_file.parent_path());
      datasets::write_label_png(mask_file.string(), mask, palette);
      nlohmann::json entry = {{"image", input.file.string()}, {"mask", mask_file.string()}};
      if (!o.no_overlay) {
        const fs::path overlay_file = out / "overlays" / (input.output_stem + ".jpg");
        fs::create_directories(overlay_file.parent_path());
        const torch::Tensor colours = overlay_table.index({mask}).permute({2, 0, 1});
        write_image_rgb(overlay_file.string(), 0.55 * image + 0.45 * colours);
        entry["overlay"] = overlay_file.string();
      }
      if (o.probabilities) {
        const fs::path prob_file = out / "probabilities" / (input.output_stem + ".safetensors");
        save_probabilities(prob_file, scores.softmax(0), nlohmann::json(names), input.file);
        entry["probabilities"] = prob_file.string();
      }
      written.push_back(entry);
      progress.update(++done);
    }
  }
  progress.finish();
  if (!o.quiet) fmt::print(stderr, "{} masks in {}\n", inputs.size(), (out / "masks").string());
  if (o.json)
    fmt::print("{}\n", nlohmann::json{{"weights", model.path}, {"out", out.string()}, {"outputs", written}}.dump(2));
  return static_cast<int>(ExitCode::kOk);
}

}  // namespace

CommandAction add_predict(CLI::App& app) {
  auto o = std::make_shared<PredictOptions>();
  CLI::App* cmd =
      app.add_subcommand("predict", "Predict masks for images and folders (recursive; JPEG, PNG, BMP, TIFF, WebP)");
  cmd->add_option("sources", o->sources, "Image files and folders")->required();
  cmd->add_option("--weights", o->weights, "Checkpoint (.safetensors) or run folder (uses weights/best)")->required();
  cmd->add_option("--out", o->out,
                  "Output folder (default runs/<task>/predictN): masks/ or boundaries/, overlays/, probabilities/");
  cmd->add_option("--device", o->device, "cpu (default), cuda or cuda:N");
  cmd->add_option("--backbone", o->backbone,
                  "Backbone weights if they moved since training (must be the same weights)");
  cmd->add_option("--batch", o->batch, "Images (boundary: tiles) per batch (default 4)");
  cmd->add_option("--workers", o->workers, "Batches decoded ahead on worker threads (default 2)");
  cmd->add_flag("--probabilities", o->probabilities, "Also write class probabilities (float16 safetensors, C x H x W)");
  cmd->add_flag("--no-overlay", o->no_overlay, "Do not write colour overlays");
  cmd->add_option("--tile", o->tile,
                  "boundary: tile size in image pixels (default 200, as the official evaluation); 0: whole image");
  cmd->add_option("--overlap", o->overlap, "boundary: tile overlap in pixels (default a fifth of the tile)");
  cmd->add_option("--bits", o->bits, "boundary: 8 (default, as the official) or 16-bit PNG maps");
  cmd->add_option("--nms-tol", o->nms_tolerance,
                  "boundary: non-maximum suppression tolerance (default the checkpoint's, 0.07); negative: none");
  cmd->add_flag("--quiet,-q", o->quiet, "No progress output");
  cmd->add_flag("--json", o->json, "Print the written files as JSON on stdout");
  return [o] { return run(*o); };
}

}  // namespace lidere::cli
