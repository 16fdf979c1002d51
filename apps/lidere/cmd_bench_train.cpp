// lidere bench pack / bench train: a training run that needs no image decoding, for comparing the
// interpolation attention's implementations end to end (same data, same seed, same schedule) on
// machines where only LibTorch is available (the GPU machine's build has no OpenCV).
//
//   lidere bench pack --data DATASET --imgsz 256 --out data.safetensors      (OpenCV builds)
//   lidere bench train --packed data.safetensors --device cuda --interp reference|auto
//
// The packed file holds each split's images as uint8 (N, 3, H, W) and label maps (N, H, W) at the
// model's input size (labels resized nearest), with the task's description and the label maps'
// ignore index in its metadata; any task whose annotations are label maps can be packed. Training
// batches take the images in a fixed rotation without augmentation, so two runs differ only in the
// implementation under test.
#include <chrono>
#include <memory>

#include <fmt/format.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "apps/lidere/commands.h"
#include "backbones/registry.h"
#include "core/errors.h"
#include "core/tensor_file.h"
#include "data/geometry.h"
#include "inference/model.h"
#include "inference/options.h"
#include "ops/interp_attention.h"
#include "tasks/registry.h"
#include "train/run_dir.h"
#include "train/train_config.h"
#include "train/trainer.h"

namespace lidere::cli {
namespace {

struct PackOptions {
  std::string data, task, imgsz = "256", out;
  std::vector<std::string> sets;
  std::int64_t max_images = 0;
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
  const std::string task = o.task.empty() ? tasks::default_task() : o.task;
  const nlohmann::json options = tasks::resolve_options(
      tasks::task_entry(task).options(), inference::task_options_from_command_line({}, o.sets, task), task);
  const auto io = tasks::make_task_io(task);
  std::map<std::string, torch::Tensor> tensors;
  nlohmann::json fields;
  std::int64_t ignore_index = -1;
  for (const std::string split : {"train", "val"}) {
    tasks::SplitData data = io->open_split(o.data, split, options);
    if (split == "train") fields = data.task_fields;
    std::vector<torch::Tensor> images, targets;
    for (std::int64_t i = 0; i < data.samples.count; ++i) {
      if (o.max_images > 0 && i >= o.max_images) break;
      const data::Sample sample = data.samples.read(i);
      if (!sample.annotation.label_map) {
        throw UsageError(fmt::format("bench pack: the annotations of task '{}' are not label maps", task));
      }
      ignore_index = sample.annotation.label_map->ignore_index;
      images.push_back(
          data::resize_image(sample.image, rows, cols).mul(255).round().clamp(0, 255).to(torch::kUInt8));
      targets.push_back(data::resize_label(sample.annotation.label_map->classes, rows, cols).to(torch::kInt32));
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
                   {{"task", tasks::task_description(task, options, fields).dump()},
                    {"ignore_index", std::to_string(ignore_index)},
                    {"source", o.data}});
  fmt::print("{}\n", o.out);
  return 0;
}
#endif

// A split of the packed file: images in [0, 1], label maps int64 at the input size.
struct PackedSplit {
  torch::Tensor images, labels;
  std::int64_t ignore_index = 255;
  std::int64_t size() const { return images.size(0); }
  data::Sample sample(std::int64_t i) const {
    data::Sample s{images[i].to(torch::kFloat).div(255), {}};
    s.annotation.label_map = data::LabelMap{labels[i].to(torch::kInt64), ignore_index};
    return s;
  }
  data::Batch batch(const std::vector<std::int64_t>& indices) const {
    data::Batch b;
    std::vector<torch::Tensor> chosen;
    for (const auto i : indices) {
      data::Sample s = sample(i);
      chosen.push_back(s.image);
      b.transforms.push_back(data::GeometricTransform::identity(s.image.size(1), s.image.size(2)));
      b.annotations.push_back(std::move(s.annotation));
      b.names.push_back(fmt::format("#{}", i));
    }
    b.images = torch::stack(chosen);
    return b;
  }
};

int run_train_bench(const TrainBenchOptions& o) {
  const TensorFile file = load_safetensors(o.packed);
  std::int64_t ignore_index = 255;
  nlohmann::json description;
  try {
    description = nlohmann::json::parse(file.meta("task"));
    ignore_index = std::stoll(file.meta("ignore_index"));
  } catch (const std::exception& e) {
    throw InputError(fmt::format("{}: metadata 'task' / 'ignore_index' missing or invalid (pack it again with "
                                 "'lidere bench pack'): {}",
                                 o.packed, e.what()));
  }
  const auto split = [&](const std::string& name) {
    PackedSplit s{file.at(name + ".images"), file.at(name + ".labels"), ignore_index};
    if (s.images.dim() != 4 || s.images.size(1) != 3 || s.labels.dim() != 3 || s.labels.size(0) != s.images.size(0) ||
        s.labels.size(1) != s.images.size(2) || s.labels.size(2) != s.images.size(3)) {
      throw InputError(
          fmt::format("{}: {} images/labels are not (N, 3, H, W) / (N, H, W) of one size", o.packed, name));
    }
    return s;
  };
  const PackedSplit train_split = split("train"), val_split = split("val");

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

  const torch::Device device = inference::parse_device(config.device);
  const auto task = tasks::make_task(description);
  config.task = task->name();
  auto backbone = backbones::open_backbone(config.backbone, config.layers);
  backbone->to(device);
  const auto readout_config = inference::readout_config_for(*backbone, config.rows(), config.cols(), config.dim,
                                                            config.heads, config.base_grid);
  torch::manual_seed(static_cast<std::int64_t>(config.seed));
  readout::ReadoutHead readout(readout::ReadoutKind::kLiDeRe, readout_config, task->heads());
  readout.set_interp_backend(ops::parse_interp_backend(config.interp));
  readout.to(device);

  const std::int64_t n_train = train_split.size(), n_val = val_split.size();
  train::BatchSource train_source{n_train, [&](std::int64_t step) {
                                    std::vector<std::int64_t> idx;
                                    for (std::int64_t i = 0; i < config.batch; ++i)
                                      idx.push_back((step * config.batch + i) % n_train);
                                    return train_split.batch(idx);
                                  }};
  const data::SampleSource val_source{n_val, [&](std::int64_t i) { return val_split.sample(i); },
                                      [](std::int64_t i) { return fmt::format("#{}", i); }};
  const auto run = train::RunDir::create(config.project, "bench", config.name, /*exist_ok=*/false);
  const nlohmann::json meta = inference::describe_run(
      *task, readout, {{"spec", config.backbone}, {"description", backbone->describe()}}, config.imgsz,
      train::to_json(config));
  train::Trainer trainer(config, readout, *task, inference::feature_function(*backbone, config.rows(), config.cols()),
                         run, meta, o.json ? ProgressMode::kQuiet : ProgressMode::kLines);
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
  CLI::App* cmd = bench.add_subcommand(
      "pack", "Pack a dataset's train and val splits (label-map annotations) into one .safetensors file");
  cmd->add_option("--data", o->data, "Dataset folder or dataset config (docs/datasets.md)")->required();
  cmd->add_option("--task", o->task, "Task whose data this is (default: the default task)");
  cmd->add_option("--imgsz", o->imgsz, "Input size: N or RxC (default 256)");
  cmd->add_option("--out", o->out, "Output .safetensors file")->required();
  cmd->add_option("--set", o->sets, "A task option: --set task.KEY=VALUE (e.g. task.ignore_index=11)");
  cmd->add_option("--max-images", o->max_images, "At most N images per split (default all)");
  return [o] { return run_pack(*o); };
}
#endif

}  // namespace lidere::cli
