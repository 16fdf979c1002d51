#include "train/trainer.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <limits>

#include <ATen/autocast_mode.h>
#include <fmt/format.h>
#include "core/errors.h"
#include "core/prefetch.h"
#include "core/state_dict.h"
#include "inference/prediction.h"
#include "train/optimizer.h"

namespace lidere::train {
namespace {

constexpr const char* kBackbonePrefix = "backbone.";

std::atomic<bool> g_interrupted{false};
void on_sigint(int) { g_interrupted = true; }

// Ctrl-C during training asks for a clean stop (checkpoint, then exit) instead of killing the
// run; a second Ctrl-C kills it as usual.
class InterruptGuard {
 public:
  InterruptGuard() {
    g_interrupted = false;
    previous_ = std::signal(SIGINT, on_sigint);
  }
  ~InterruptGuard() { std::signal(SIGINT, previous_); }
  static bool requested() { return g_interrupted.load(); }

 private:
  void (*previous_)(int);
};

// bf16 autocast for the readout's forward on CUDA (the official code's AMP, in the dtype that
// needs no loss scaling); nothing on the CPU, where bf16 matmuls are slower than float32.
class AutocastGuard {
 public:
  AutocastGuard(bool enabled, torch::Device device) : enabled_(enabled && device.is_cuda()) {
    if (!enabled_) return;
    at::autocast::set_autocast_enabled(at::kCUDA, true);
    at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
  }
  ~AutocastGuard() {
    if (!enabled_) return;
    at::autocast::set_autocast_enabled(at::kCUDA, false);
    at::autocast::clear_cache();
  }

 private:
  bool enabled_;
};

}  // namespace

Trainer::Trainer(const TrainConfig& config, readout::ReadoutHead& readout, const tasks::Task& task,
                 FeatureFunction features, const RunDir& run, nlohmann::json checkpoint_meta, ProgressMode progress,
                 NamedParameters backbone_parameters)
    : config_(config),
      readout_(readout),
      task_(task),
      features_(std::move(features)),
      run_(run),
      meta_(std::move(checkpoint_meta)),
      progress_(resolve_progress_mode(progress)),
      device_(inference::parse_device(config.device)),
      backbone_parameters_(std::move(backbone_parameters)) {}

void Trainer::restore_backbone(const std::map<std::string, torch::Tensor>& saved, const std::string& path) {
  torch::NoGradGuard no_grad;
  for (auto& [name, p] : backbone_parameters_) {
    const auto it = saved.find(name);
    if (it == saved.end() || it->second.sizes() != p.sizes()) {
      throw InputError(fmt::format("{}: trained backbone parameter '{}' is missing or has another shape", path, name));
    }
    p.copy_(it->second);
  }
  if (saved.size() != backbone_parameters_.size()) {
    throw InputError(fmt::format("{}: the checkpoint holds {} trained backbone tensors, the backbone trains {}", path,
                                 saved.size(), backbone_parameters_.size()));
  }
}

void Trainer::log(const std::string& line) const {
  run_.log(line);
  if (progress_ != ProgressMode::kQuiet) fmt::print(stderr, "{}\n", line);
}

TrainSummary Trainer::run(const BatchSource& train, const data::SampleSource& val,
                          const inference::Checkpoint* resume, const std::function<void()>& on_validation) {
  using Clock = std::chrono::steady_clock;
  const auto started = Clock::now();
  const std::int64_t total = config_.iterations;
  const std::int64_t save_every = config_.save_every > 0 ? config_.save_every : config_.val_every;

  AdamWOptions options;
  options.lr = config_.lr;
  options.weight_decay = config_.weight_decay;
  // The readout's parameters under their own names at lr, a trainable backbone's (the adapters)
  // under "backbone." at lora_lr when set.
  ParameterGroup readout_group, backbone_group;
  for (const auto& item : readout_.module().named_parameters()) readout_group.parameters.emplace_back(item.key(), item.value());
  for (const auto& [name, p] : backbone_parameters_) backbone_group.parameters.emplace_back(kBackbonePrefix + name, p);
  backbone_group.lr_scale = config_.lora_lr > 0 ? config_.lora_lr / config_.lr : 1.0;
  AdamW optimizer({readout_group, backbone_group}, options);

  TrainSummary summary;
  std::int64_t start = 0;
  double best = -std::numeric_limits<double>::infinity();
  double loss_sum = 0.0;  // since the last metrics row
  std::int64_t loss_count = 0;
  if (resume) {
    start = resume->meta.at("step").get<std::int64_t>();
    optimizer.load_state(resume->optimizer, run_.weights("last").string());
    restore_backbone(resume->backbone, run_.weights("last").string());
    best = resume->meta.value("best", best);
    summary.best_step = resume->meta.value("best_step", std::int64_t{0});
    loss_sum = resume->meta.value("loss_sum", 0.0);
    loss_count = resume->meta.value("loss_count", std::int64_t{0});
    if (start >= total) {
      throw UsageError(fmt::format("{}: the run already has {} of {} iterations; extend it with --set iterations=N",
                                   run_.path().string(), start, total));
    }
    log(fmt::format("resuming {} at iteration {} of {}", run_.path().string(), start, total));
  }

  std::vector<std::string> columns = {"step", "epoch", "lr", "train_loss"};
  for (const auto& [name, value] : task_.evaluator()->metrics().values) columns.push_back("val_" + name);
  columns.push_back("seconds");
  MetricsCsv csv(run_.file("metrics.csv"), columns, resume ? start : -1);

  // `evaluation`: the validation this checkpoint was chosen by (kept with it, so the run's report
  // is written from it instead of evaluating the checkpoint again).
  const auto save = [&](const std::string& which, std::int64_t step, const tasks::Evaluator* evaluation) {
    inference::Checkpoint checkpoint;
    checkpoint.meta = meta_;
    checkpoint.meta["step"] = step;
    checkpoint.meta["best"] = best;
    checkpoint.meta["best_step"] = summary.best_step;
    checkpoint.meta["loss_sum"] = loss_sum;
    checkpoint.meta["loss_count"] = loss_count;
    if (evaluation) {
      checkpoint.meta["metrics"] = evaluation->metrics().values;  // [[name, value], ...]: keeps the order
      checkpoint.meta["details"] = evaluation->details();
    }
    checkpoint.model = state_dict(readout_.module());
    checkpoint.optimizer = optimizer.state();
    for (const auto& [name, p] : backbone_parameters_) checkpoint.backbone[name] = p;
    inference::save_checkpoint(run_.weights(which).string(), checkpoint);
  };

  // A warm-up longer than a tenth of the run would leave little at the full rate: short runs
  // (tests, quick looks) get a proportionally shorter one.
  const std::int64_t warmup = std::min(config_.warmup, total / 10);
  InterruptGuard interrupt;
  readout_.module().train();
  // Batches and their targets are built ahead on worker threads.
  const auto make_batch = [&](std::int64_t step) {
    data::Batch batch = train.make(step);
    task_.build_targets(batch);
    return batch;
  };
  Prefetcher<data::Batch> batches(make_batch, start, total, static_cast<int>(config_.workers));
  inference::LoopSettings validation;
  validation.batch = config_.batch;
  validation.workers = static_cast<int>(config_.workers);
  validation.limit = config_.val_images;
  const inference::ModelView model{readout_, task_, features_, device_, config_.rows(), config_.cols()};
  Progress progress("train", total, progress_, start);
  double last_loss = 0.0, lr = 0.0;
  const double previous_seconds = resume ? resume->meta.value("seconds", 0.0) : 0.0;
  for (std::int64_t step = start; step < total; ++step) {
    const data::Batch batch = batches.next();
    lr = scheduled_lr(config_.lr, step, total, warmup, config_.schedule);
    torch::Tensor features;
    {
      // A frozen backbone needs no graph; a trainable part (LoRA) gets its gradients through it.
      torch::AutoGradMode grad(!backbone_parameters_.empty());
      features = features_(batch.images.to(device_));
    }
    optimizer.zero_grad();
    torch::Tensor loss;
    {
      AutocastGuard autocast(config_.amp, device_);
      loss = task_.loss(readout_.forward(features), batch);
    }
    loss.backward();
    optimizer.step(lr);
    last_loss = loss.item<double>();
    if (!std::isfinite(last_loss)) {
      throw Error(ExitCode::kCheckFailed, fmt::format("the training loss became {} at iteration {} (try a lower "
                                                      "--set lr=...)",
                                                      last_loss, step + 1));
    }
    loss_sum += last_loss;
    ++loss_count;
    const std::int64_t done = step + 1;
    progress.update(done, fmt::format("loss {:.4f}, lr {:.2e}", last_loss, lr));

    const bool stopping = InterruptGuard::requested();
    if (done % config_.val_every == 0 || done == total) {
      const auto evaluator = inference::evaluate(model, val, validation);
      summary.final_metrics = evaluator->metrics();
      const double epoch =
          static_cast<double>(done * config_.batch) / static_cast<double>(std::max<std::int64_t>(1, train.images));
      std::vector<double> row = {static_cast<double>(done), epoch, lr, loss_sum / static_cast<double>(loss_count)};
      std::string shown;
      for (const auto& [name, value] : summary.final_metrics.values) {
        row.push_back(value);
        shown += fmt::format(", {} {:.4f}", name, value);
      }
      const double seconds = previous_seconds + std::chrono::duration<double>(Clock::now() - started).count();
      row.push_back(seconds);
      csv.append(row);
      loss_sum = 0.0;
      loss_count = 0;
      const bool improved = summary.final_metrics.main() > best;
      if (improved) {
        best = summary.final_metrics.main();
        summary.best_step = done;
        summary.best_metrics = summary.final_metrics;
      }
      meta_["seconds"] = seconds;
      if (improved) save("best", done, evaluator.get());
      if (progress_ == ProgressMode::kBar) fmt::print(stderr, "\n");
      log(fmt::format("iteration {}/{}: train loss {:.4f}{}{}", done, total, row[3], shown, improved ? " (best)" : ""));
      if (on_validation) on_validation();
    }
    if (done % save_every == 0 || done == total || stopping) {
      meta_["seconds"] = previous_seconds + std::chrono::duration<double>(Clock::now() - started).count();
      save("last", done, nullptr);
    }
    if (stopping && done < total) {
      progress.finish();
      log(fmt::format("interrupted at iteration {}; continue with: lidere train --resume {}", done,
                      run_.path().string()));
      summary.interrupted = true;
      summary.iterations = done;
      return summary;
    }
  }
  progress.finish(fmt::format("loss {:.4f}", last_loss));
  summary.iterations = total;
  summary.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  if (summary.best_metrics.values.empty() && resume) {
    // The best checkpoint came from before the interruption: report what it recorded.
    const inference::Checkpoint best_checkpoint = inference::load_checkpoint(run_.weights("best").string());
    summary.best_metrics.values = best_checkpoint.meta.at("metrics").get<std::vector<std::pair<std::string, double>>>();
  }
  return summary;
}

}  // namespace lidere::train
