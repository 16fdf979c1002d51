// The multi-head readout (official LiDeReMulti with embed_proj) trained end to end through the
// trainer on a synthetic three-head task shaped like CenterNet detection: a centre heatmap, box
// sizes and class embeddings mapped by embed_proj to class logits. The loss falls, every head's
// parts get gradients, the checkpoint records the head layout and reloads from it, and a
// checkpoint of another layout is refused naming the file.
#include <cmath>

#include <ATen/ATen.h>
#include <torch/nn/functional/loss.h>
#include <torch/torch.h>

#include "core/errors.h"
#include "inference/checkpoint.h"
#include "readout/readout_head.h"
#include "tasks/task.h"
#include "test_common.h"
#include "train/run_dir.h"
#include "train/trainer.h"

using namespace lidere;
using Catch::Matchers::Contains;
using lidere::testing::thrown_message;

namespace {

constexpr std::int64_t kSide = 32, kClasses = 3;

// Targets from the image itself, so the task is learnable from the synthetic features: the
// heatmap is the red channel, the sizes the green and blue ones, the class the brightest channel
// (background where all are dark).
class ThreeHeadTask : public tasks::Task {
 public:
  std::string name() const override { return "three-heads"; }
  readout::HeadLayout heads() const override {
    return {{{"heatmap", 1, -5.0}, {"size", 2, 0.0}, {"class_embeddings", 4, 0.0}},
            readout::EmbeddingSpec{"class_embeddings", "class_logits", kClasses + 1}};
  }
  void build_targets(data::Batch& batch) const override {
    const torch::Tensor small = at::avg_pool2d(batch.images, {2, 2});  // the output grid is input / 2
    batch.targets["heatmap"] = small.slice(1, 0, 1);
    batch.targets["size"] = small.slice(1, 1, 3);
    const torch::Tensor cls = small.argmax(1) + 1;
    batch.targets["class"] = torch::where(std::get<0>(small.max(1)) < 0.2, torch::zeros_like(cls), cls);
  }
  torch::Tensor loss(const tasks::Outputs& o, const data::Batch& b) const override {
    namespace F = torch::nn::functional;
    return 50 * F::binary_cross_entropy_with_logits(o.at("heatmap"), b.targets.at("heatmap")) +
           F::l1_loss(o.at("size"), b.targets.at("size")) +
           0.2 * F::cross_entropy(o.at("class_logits"), b.targets.at("class"));
  }
  tasks::Outputs results(const tasks::Outputs& o, std::int64_t, std::int64_t) const override {
    return {{"heatmap", o.at("heatmap")[0].sigmoid()}};
  }
  class Mae : public tasks::Evaluator {
   public:
    void add(const tasks::Outputs& results, const data::Annotation& truth) override {
      sum_ += (results.at("heatmap") - truth.value_map->values).abs().mean().item<double>(), ++n_;
    }
    tasks::Metrics metrics() const override { return {{{"neg_mae", n_ ? -sum_ / n_ : 0.0}}}; }
    nlohmann::json details() const override { return nlohmann::json::object(); }

   private:
    double sum_ = 0;
    int n_ = 0;
  };
  std::unique_ptr<tasks::Evaluator> evaluator() const override { return std::make_unique<Mae>(); }
  nlohmann::json describe() const override { return {{"task", name()}}; }
};

torch::Tensor synthetic_image(std::int64_t i) {
  torch::manual_seed(1000 + i);
  return at::upsample_bilinear2d(torch::rand({1, 3, 4, 4}), {kSide, kSide}, false)[0].clamp(0, 1);
}

data::Sample synthetic_sample(std::int64_t i) {
  data::Sample s{synthetic_image(i), {}};
  s.annotation.value_map = data::ValueMap{at::avg_pool2d(s.image.unsqueeze(0), {2, 2})[0].slice(0, 0, 1)};
  return s;
}

// Features a backbone could give: the image pooled to the 2x2 token grid (stride 16) with its squares.
torch::Tensor synthetic_features(const torch::Tensor& images) {
  const torch::Tensor pooled = at::avg_pool2d(images, {16, 16});
  return torch::cat({pooled, pooled.pow(2)}, 1);
}

readout::ReadoutConfig readout_config() {
  readout::ReadoutConfig c;
  c.feature_channels = 6;
  c.feature_grid = {2, 2};
  c.base_grid = {kSide / 8, kSide / 8};
  return c;
}

}  // namespace

CATCH_TEST_CASE("three-head readout trains through the trainer; its checkpoint reloads by layout", "[unit]") {
  const auto dir = lidere::testing::scratch_dir("three_heads");
  const ThreeHeadTask task;
  train::TrainConfig config;
  config.imgsz = {kSide, kSide};
  config.iterations = 40;
  config.batch = 4;
  config.lr = 0.01;
  config.val_every = 10;
  config.workers = 0;
  config.val_images = 4;
  torch::manual_seed(0);
  readout::ReadoutHead readout(readout::ReadoutKind::kLiDeRe, readout_config(), task.heads());
  // Snapshot of the initial weights, to show each part moves.
  std::map<std::string, torch::Tensor> before;
  for (const auto& p : readout.module().named_parameters()) before[p.key()] = p.value().detach().clone();

  const train::BatchSource source{16, [](std::int64_t step) {
                                    data::Batch b;
                                    std::vector<torch::Tensor> images;
                                    for (std::int64_t j = 0; j < 4; ++j) {
                                      const std::int64_t i = (step * 4 + j) % 16;
                                      images.push_back(synthetic_image(i));
                                      b.annotations.emplace_back();
                                      b.transforms.push_back(data::GeometricTransform::identity(kSide, kSide));
                                      b.names.push_back(std::to_string(i));
                                    }
                                    b.images = torch::stack(images);
                                    return b;
                                  }};
  const data::SampleSource val{4, synthetic_sample, [](std::int64_t i) { return std::to_string(i); }};
  const nlohmann::json meta = inference::describe_run(task, readout, {{"spec", "synthetic"}}, config.imgsz, {});

  // One step through the trainer: every head's gamma, content attention, prior and CNN, and
  // embed_proj get gradients (they stay after the step) and move; proj_q.weight alone has an
  // exact-zero gradient (the released queries come from a zero map).
  {
    train::TrainConfig one = config;
    one.iterations = 1;
    one.val_every = 1;
    const train::RunDir first = train::RunDir::create(dir, task.name(), "one_step");
    train::Trainer(one, readout, task, synthetic_features, first, meta, ProgressMode::kQuiet).run(source, val, nullptr);
    auto params = readout.module().named_parameters();
    for (const std::string head : {"heatmap", "size", "class_embeddings"}) {
      for (const std::string part : {"layers.0.proj.0.weight", "layers.1.proj_k.weight", "layers.1.proj_v.weight",
                                     "layers.1.implicit_net.net.0.weight", "layers.1.implicit_net.skip.weight",
                                     "mlp.out_mlp.0.weight", "mlp.skip_mlp.1.weight"}) {
        const std::string name = "heads." + head + "." + part;
        CATCH_INFO(name);
        CATCH_REQUIRE(params.contains(name));
        CATCH_CHECK(params[name].grad().defined());
        CATCH_CHECK(params[name].grad().abs().sum().item<double>() > 0);
        CATCH_CHECK_FALSE(torch::equal(params[name], before.at(name)));
      }
    }
    for (const std::string name : {"embed_proj.weight", "embed_proj.bias"}) {
      CATCH_INFO(name);
      CATCH_CHECK(params[name].grad().abs().sum().item<double>() > 0);
    }
  }

  // The rest of the run from a fresh readout: the loss falls.
  torch::manual_seed(0);
  readout = readout::ReadoutHead(readout::ReadoutKind::kLiDeRe, readout_config(), task.heads());
  const train::RunDir run = train::RunDir::create(dir, task.name(), "train");
  train::Trainer trainer(config, readout, task, synthetic_features, run, meta, ProgressMode::kQuiet);
  const train::TrainSummary summary = trainer.run(source, val, nullptr);
  CATCH_CHECK(summary.iterations == 40);

  // The loss falls.
  const auto losses = train::read_metrics_csv(run.file("metrics.csv")).column("train_loss");
  CATCH_REQUIRE(losses.size() == 4);
  CATCH_CHECK(losses.back() < 0.7 * losses.front());

  // The checkpoint records the layout and rebuilds the same readout from it.
  const std::string last = run.weights("last").string();
  const inference::Checkpoint checkpoint = inference::load_checkpoint(last);
  CATCH_CHECK(inference::checkpoint_heads(checkpoint, last) == task.heads());
  const readout::HeadLayout layout = task.heads();
  readout::ReadoutHead restored = inference::readout_from_checkpoint(checkpoint, last, &layout);
  const torch::Tensor features = synthetic_features(torch::stack({synthetic_image(0), synthetic_image(1)}));
  torch::NoGradGuard no_grad;
  readout.module().eval();
  restored.module().eval();
  const auto a = readout.forward(features), b = restored.forward(features);
  CATCH_CHECK(a.size() == 4);
  for (const auto& [name, value] : a) CATCH_CHECK(torch::equal(value, b.at(name)));
  CATCH_CHECK(a.at("class_logits").sizes() == torch::IntArrayRef({2, kClasses + 1, kSide / 2, kSide / 2}));

  // A task with another layout refuses it, naming the file and both layouts.
  const readout::HeadLayout other{{{"heatmap", 1, -5.0}, {"size", 2, 0.0}}, {}};
  const std::string message =
      thrown_message<InputError>([&] { inference::readout_from_checkpoint(checkpoint, last, &other); });
  CATCH_CHECK_THAT(message, Contains(last) && Contains("heatmap(1), size(2), class_embeddings(4) -> class_logits(4)") &&
                                Contains("the task needs heatmap(1), size(2)"));
}

CATCH_TEST_CASE("head layouts: JSON round trip and refusals", "[unit]") {
  const readout::HeadLayout layout{{{"heatmap", 1, -5.0}, {"size", 2, 0.0}},
                                   readout::EmbeddingSpec{"size", "logits", 3}};
  CATCH_CHECK(readout::head_layout_from_json(readout::head_layout_to_json(layout)) == layout);
  CATCH_CHECK(layout.output_names() == std::vector<std::string>{"heatmap", "size", "logits"});
  readout::HeadLayout twice{{{"a", 1, 0.0}, {"a", 2, 0.0}}, {}};
  CATCH_CHECK_THAT(thrown_message<UsageError>([&] { twice.validate(); }), Contains("'a' given twice"));
  readout::HeadLayout orphan{{{"a", 1, 0.0}}, readout::EmbeddingSpec{"b", "c", 2}};
  CATCH_CHECK_THAT(thrown_message<UsageError>([&] { orphan.validate(); }), Contains("'b' is not a head"));
  CATCH_CHECK_THAT(thrown_message<UsageError>([] { readout::HeadLayout{}.validate(); }), Contains("at least one head"));
  // The linear probe takes the same layouts (heads.<name>.proj.*, embed_proj.*).
  readout::ReadoutConfig c;
  c.feature_channels = 6;
  c.feature_grid = {2, 2};
  c.base_grid = {4, 4};
  readout::ReadoutHead linear(readout::ReadoutKind::kLinear, c, layout);
  const auto out = linear.forward(torch::randn({2, 6, 2, 2}));
  CATCH_CHECK(out.at("logits").sizes() == torch::IntArrayRef({2, 3, 16, 16}));
  CATCH_CHECK(linear.module().named_parameters().contains("heads.size.proj.weight"));
}
