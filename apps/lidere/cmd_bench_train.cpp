// lidere bench pack / bench train: a training run that needs no image decoding, for comparing the
// interpolation attention's implementations end to end (same data, same seed, same schedule) on
// machines where only LibTorch is available (the GPU machine's build has no OpenCV).
//
//   lidere bench pack --data DATASET --imgsz 256 --out data.safetensors      (OpenCV builds)
//   lidere bench train --packed data.safetensors --device cuda --interp reference|auto
//
// The packed file holds each split's images as uint8 (N, 3, H, W) and labels (N, H, W) at the
// model's input size (labels resized nearest), with the class names and the ignore index in its
// metadata. Training batches take the images in a fixed rotation without augmentation, so two runs
// differ only in the implementation under test.
#include <chrono>
#include <memory>

#include <fmt/format.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "apps/lidere/commands.h"
#include "apps/lidere/pipeline.h"
#include "backbones/registry.h"
#include "core/errors.h"
#include "core/tensor_file.h"
#include "ops/interp_attention.h"
#include "tasks/registry.h"
#include "train/run_dir.h"
#include "train/train_config.h"
#include "train/trainer.h"

#if defined(LIDERE_WITH_OPENCV)
#include "datasets/augment.h"
#include "datasets/dataset_config.h"
#include "datasets/segmentation.h"
#endif

namespace lidere::cli {
namespace {

struct PackOptions {
  std::string data, imgsz = "256", out;
  std::int64_t ignore_index = -1, max_images = 0;
};

struct TrainBenchOptions {
  std::string packed, device = "cuda", interp = "auto", project = "runs", name = "bench";
  std::int64_t iterations = 300, batch = 8, val_every = 100;
  double lr = 0.01;
  std::uint64_t seed = 0;
  bool json = false, amp = true;
};

#if defined(LIDERE_WITH_OPENCV)
int run_pack(const PackOptions& o) {
  train::TrainConfig sizes;  // parses "N" or "RxC" as lidere train does
  train::apply_overrides(sizes, {"imgsz=" + o.imgsz});
  sizes.validate();
  const std::int64_t rows = sizes.rows(), cols = sizes.cols();
  std::map<std::string, torch::Tensor> tensors;
  datasets::LabelSpace labels;
  for (const std::string split : {"train", "val"}) {
    const auto dataset = datasets::open_segmentation_dataset(o.data, split, o.ignore_index);
    labels = dataset.labels;
    std::vector<torch::Tensor> images, targets;
    for (const auto& sample : dataset.samples) {
      if (o.max_images > 0 && static_cast<std::int64_t>(images.size()) >= o.max_images) break;
      const datasets::DecodedSample decoded = datasets::read_sample(sample);
      images.push_back(
          datasets::resize_image(decoded.image, rows, cols).mul(255).round().clamp(0, 255).to(torch::kUInt8));
      targets.push_back(datasets::resize_label(decoded.label, rows, cols).to(torch::kInt32));
    }
    if (images.empty()) throw InputError(fmt::format("{}: split '{}' has no images", o.data, split));
    tensors[split + ".images"] = torch::stack(images);
    // uint8 where every value fits (the usual case: fewer classes and an ignore index <= 255).
    torch::Tensor stacked = torch::stack(targets);
    if (stacked.min().item<std::int64_t>() >= 0 && stacked.max().item<std::int64_t>() <= 255)
      stacked = stacked.to(torch::kUInt8);
    tensors[split + ".labels"] = stacked;
    fmt::print(stderr, "{}: {} images\n", split, images.size());
  }
  save_safetensors(o.out, tensors,
                   {{"classes", nlohmann::json(labels.class_names).dump()},
                    {"ignore_index", std::to_string(labels.ignore_index)},
                    {"source", o.data}});
  fmt::print("{}\n", o.out);
  return 0;
}
#endif

// A split of the packed file as batches: images in [0, 1], labels int64 at the input size.
struct PackedSplit {
  torch::Tensor images, labels;
  std::int64_t size() const { return images.size(0); }
  tasks::Batch batch(const std::vector<std::int64_t>& indices) const {
    tasks::Batch b;
    std::vector<torch::Tensor> chosen;
    for (const auto i : indices) {
      chosen.push_back(images[i].to(torch::kFloat).div(255));
      b.targets.push_back(labels[i].to(torch::kInt64));
      b.names.push_back(fmt::format("#{}", i));
    }
    b.images = torch::stack(chosen);
    return b;
  }
};

int run_train_bench(const TrainBenchOptions& o) {
  const TensorFile file = load_safetensors(o.packed);
  const auto split = [&](const std::string& name) {
    PackedSplit s{file.at(name + ".images"), file.at(name + ".labels")};
    if (s.images.dim() != 4 || s.images.size(1) != 3 || s.labels.dim() != 3 || s.labels.size(0) != s.images.size(0) ||
        s.labels.size(1) != s.images.size(2) || s.labels.size(2) != s.images.size(3)) {
      throw InputError(
          fmt::format("{}: {} images/labels are not (N, 3, H, W) / (N, H, W) of one size", o.packed, name));
    }
    return s;
  };
  const PackedSplit train_split = split("train"), val_split = split("val");
  std::vector<std::string> class_names;
  try {
    class_names = nlohmann::json::parse(file.meta("classes")).get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("{}: metadata 'classes' is not a JSON list of names: {}", o.packed, e.what()));
  }
  const std::int64_t ignore_index = std::stoll(file.meta("ignore_index"));

  train::TrainConfig config;
  config.data = o.packed;
  config.imgsz = {train_split.images.size(2), train_split.images.size(3)};
  config.iterations = o.iterations;
  config.batch = o.batch;
  config.lr = o.lr;
  config.val_every = o.val_every;
  config.seed = o.seed;
  config.device = o.device;
  config.interp = o.interp;
  config.amp = o.amp;
  config.project = o.project;
  config.name = o.name;
  config.augment = "none";
  config.validate();

  const torch::Device device = train::parse_device(config.device);
  const auto task = tasks::make_task({{"task", "seg"}, {"class_names", class_names}, {"ignore_index", ignore_index}});
  auto backbone = backbones::open_backbone(config.backbone, config.layers);
  backbone->to(device);
  const auto readout_config =
      readout_config_for(*backbone, config.rows(), config.cols(), config.dim, config.heads, *task);
  torch::manual_seed(static_cast<std::int64_t>(config.seed));
  readout::ReadoutHead readout(readout::ReadoutKind::kLiDeRe, readout_config);
  readout.set_interp_backend(ops::parse_interp_backend(config.interp));
  readout.to(device);

  const std::int64_t n_train = train_split.size(), n_val = val_split.size();
  train::BatchSource train_source{-1, n_train, [&](std::int64_t step) {
                                    std::vector<std::int64_t> idx;
                                    for (std::int64_t i = 0; i < config.batch; ++i)
                                      idx.push_back((step * config.batch + i) % n_train);
                                    return train_split.batch(idx);
                                  }};
  train::BatchSource val_source{(n_val + config.batch - 1) / config.batch, n_val, [&](std::int64_t i) {
                                  std::vector<std::int64_t> idx;
                                  for (std::int64_t j = i * config.batch; j < std::min(n_val, (i + 1) * config.batch);
                                       ++j)
                                    idx.push_back(j);
                                  return val_split.batch(idx);
                                }};
  const auto run = train::RunDir::create(config.project, "bench", config.name, /*exist_ok=*/false);
  nlohmann::json meta = {{"task", task->describe()},
                         {"readout", "lidere"},
                         {"readout_config", readout::readout_config_to_json(readout_config)},
                         {"backbone", {{"spec", config.backbone}, {"description", backbone->describe()}}},
                         {"imgsz", config.imgsz},
                         {"config", train::to_json(config)}};
  train::Trainer trainer(config, readout, *task, feature_function(*backbone, config.rows(), config.cols()), run, meta,
                         o.json ? train::ProgressMode::kQuiet : train::ProgressMode::kLines);
  const train::TrainSummary summary = trainer.run(train_source, val_source, nullptr);
  const nlohmann::json result = {{"interp", config.interp},
                                 {"device", config.device},
                                 {"amp", config.amp},
                                 {"iterations", summary.iterations},
                                 {"seconds", summary.seconds},
                                 {"seconds_per_iteration", summary.seconds / static_cast<double>(summary.iterations)},
                                 {"final", summary.final_metrics.to_json()},
                                 {"best", summary.best_metrics.to_json()},
                                 {"run", run.path().string()}};
  fmt::print("{}\n", result.dump());
  return 0;
}

}  // namespace

CommandAction add_bench_train(CLI::App& bench) {
  auto o = std::make_shared<TrainBenchOptions>();
  CLI::App* cmd = bench.add_subcommand(
      "train", "Train a LiDeRe readout on a packed dataset (bench pack) and print time and metrics as JSON");
  cmd->add_option("--packed", o->packed, "Packed dataset (.safetensors from 'lidere bench pack')")->required();
  cmd->add_option("--device", o->device, "cpu, cuda or cuda:N (default cuda)");
  cmd->add_option("--interp", o->interp, "Interpolation attention: auto (default), reference, factorized, cuda");
  cmd->add_option("--iterations", o->iterations, "Training iterations (default 300)");
  cmd->add_option("--batch", o->batch, "Batch size (default 8)");
  cmd->add_option("--lr", o->lr, "Peak learning rate (default 0.01)");
  cmd->add_option("--val-every", o->val_every, "Validate every N iterations (default 100)");
  cmd->add_option("--seed", o->seed, "Seed of the readout's initialisation (default 0)");
  cmd->add_option("--project", o->project, "Runs folder (default runs; the run goes to <project>/bench/<name>N)");
  cmd->add_option("--name", o->name, "Run name (default bench)");
  cmd->add_flag(
      "--no-amp", [o](std::int64_t) { o->amp = false; }, "No bf16 autocast on CUDA");
  cmd->add_flag("--json", o->json, "No progress lines, only the JSON result");
  return [o] { return run_train_bench(*o); };
}

#if defined(LIDERE_WITH_OPENCV)
CommandAction add_bench_pack(CLI::App& bench) {
  auto o = std::make_shared<PackOptions>();
  CLI::App* cmd =
      bench.add_subcommand("pack", "Pack a segmentation dataset's train and val splits into one .safetensors file");
  cmd->add_option("--data", o->data, "Dataset folder or dataset config (docs/datasets.md)")->required();
  cmd->add_option("--imgsz", o->imgsz, "Input size: N or RxC (default 256)");
  cmd->add_option("--out", o->out, "Output .safetensors file")->required();
  cmd->add_option("--ignore-index", o->ignore_index, "Label value left out (default: the dataset's)");
  cmd->add_option("--max-images", o->max_images, "At most N images per split (default all)");
  return [o] { return run_pack(*o); };
}
#endif

}  // namespace lidere::cli
