#include "inference/prediction.h"

#include <algorithm>
#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/prefetch.h"
#include "inference/tiling.h"
#include "ops/interp_attention.h"

namespace lidere::inference {
namespace {

// A group of samples decoded on a worker: their model inputs (whole images only) and the samples.
struct Group {
  std::int64_t first = 0;
  std::vector<data::Sample> samples;
  torch::Tensor inputs;  // (N, 3, rows, cols), undefined when tiling
};

// The readout's outputs for a batch of images, as float32 on the CPU.
tasks::Outputs forward(const ModelView& model, const torch::Tensor& images) {
  tasks::Outputs outputs = model.readout.forward(model.features(images.to(model.device)));
  for (auto& [name, value] : outputs) value = value.to(torch::kFloat).cpu();
  return outputs;
}

tasks::Outputs slice(const tasks::Outputs& outputs, std::int64_t i) {
  tasks::Outputs one;
  for (const auto& [name, value] : outputs) one[name] = value.slice(0, i, i + 1);
  return one;
}

}  // namespace

void run_readout(const ModelView& model, const data::SampleSource& source, const LoopSettings& settings,
                 const ResultSink& sink) {
  torch::NoGradGuard no_grad;
  const bool was_training = model.readout.module().is_training();
  model.readout.module().eval();
  const bool tiled = settings.tiling.size > 0;
  const std::int64_t count = settings.limit > 0 ? std::min(settings.limit, source.count) : source.count;
  const std::int64_t per_group = tiled ? 1 : std::max<std::int64_t>(1, settings.batch);
  const std::int64_t groups = (count + per_group - 1) / per_group;
  const auto decode = [&](std::int64_t g) {
    Group group;
    group.first = g * per_group;
    std::vector<torch::Tensor> inputs;
    for (std::int64_t i = group.first; i < std::min(count, group.first + per_group); ++i) {
      group.samples.push_back(source.read(i));
      if (!tiled) inputs.push_back(data::resize_image(group.samples.back().image, model.rows, model.cols));
    }
    if (!tiled) group.inputs = torch::stack(inputs);
    return group;
  };
  Prefetcher<Group> prefetch(decode, 0, groups, settings.workers);
  Progress progress(settings.label, count, settings.progress, 0, "img");
  std::int64_t done = 0;
  for (std::int64_t g = 0; g < groups; ++g) {
    const Group group = prefetch.next();
    if (tiled) {
      const data::Sample& sample = group.samples.front();
      const auto predict_tiles = [&](const torch::Tensor& tiles) {
        const tasks::Outputs outputs = forward(model, tiles);
        std::map<std::string, std::vector<torch::Tensor>> per_tile;
        for (std::int64_t i = 0; i < tiles.size(0); ++i) {
          for (auto& [name, value] : model.task.results(slice(outputs, i), tiles.size(2), tiles.size(3)))
            per_tile[name].push_back(value);
        }
        tasks::Outputs stacked;
        for (auto& [name, values] : per_tile) stacked[name] = torch::stack(values);
        return stacked;
      };
      sink(group.first, sample, predict_tiled(sample.image, settings.tiling, predict_tiles, settings.batch));
    } else {
      const tasks::Outputs outputs = forward(model, group.inputs);
      for (std::size_t i = 0; i < group.samples.size(); ++i) {
        const data::Sample& sample = group.samples[i];
        sink(group.first + static_cast<std::int64_t>(i), sample,
             model.task.results(slice(outputs, static_cast<std::int64_t>(i)), sample.image.size(1),
                                sample.image.size(2)));
      }
    }
    done += static_cast<std::int64_t>(group.samples.size());
    progress.update(done);
  }
  progress.finish();
  model.readout.module().train(was_training);
}

std::unique_ptr<tasks::Evaluator> evaluate(const ModelView& model, const data::SampleSource& source,
                                           const LoopSettings& settings) {
  auto evaluator = model.task.evaluator();
  run_readout(model, source, settings, [&](std::int64_t, const data::Sample& sample, const tasks::Outputs& results) {
    evaluator->add(results, sample.annotation);
  });
  ops::release_cached_state();  // training must not carry the inference-only exp(prior) cache
  return evaluator;
}

void write_evaluation_json(const tasks::Metrics& metrics, const nlohmann::json& details,
                           const std::filesystem::path& dir, const std::string& split) {
  std::ofstream out(dir / ("eval_" + split + ".json"));
  out << nlohmann::json{{"split", split}, {"metrics", metrics.to_json()}, {"details", details}}.dump(2) << '\n';
}

}  // namespace lidere::inference
