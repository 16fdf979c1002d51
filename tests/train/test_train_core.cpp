// The trainer's building blocks: AdamW (against LibTorch's torch::optim::AdamW, the same update
// as Python's), the schedule, exact optimiser-state round trips, checkpoints, configuration
// overrides, run folders and the metrics log.
#include <fstream>

#include <torch/optim/adamw.h>
#include <torch/torch.h>

#include "core/errors.h"
#include "core/rng.h"
#include "core/state_dict.h"
#include "core/tensor_file.h"
#include "readout/readout_head.h"
#include "test_common.h"
#include "inference/checkpoint.h"
#include "train/optimizer.h"
#include "train/run_dir.h"
#include "train/train_config.h"

using namespace lidere;
using Catch::Matchers::Contains;
using lidere::testing::thrown_message;

CATCH_TEST_CASE("AdamW matches torch::optim::AdamW step for step", "[unit]") {
  for (const double weight_decay : {0.0, 0.01}) {
    torch::manual_seed(1);
    torch::Tensor ours = torch::randn({5, 3}, torch::kDouble).requires_grad_(true);
    torch::Tensor theirs = ours.detach().clone().requires_grad_(true);
    train::AdamWOptions options;
    options.weight_decay = weight_decay;
    train::AdamW adamw({{"w", ours}}, options);
    torch::optim::AdamW reference({theirs}, torch::optim::AdamWOptions(1e-3).weight_decay(weight_decay));
    for (int step = 0; step < 6; ++step) {
      const torch::Tensor target = torch::randn({5, 3}, torch::kDouble);
      const double lr = 1e-3 * (step + 1) / 6.0;
      adamw.zero_grad();
      (ours - target).pow(2).sum().backward();
      adamw.step(lr);
      static_cast<torch::optim::AdamWOptions&>(reference.param_groups()[0].options()).lr(lr);
      reference.zero_grad();
      (theirs - target).pow(2).sum().backward();
      reference.step();
      CATCH_REQUIRE(torch::allclose(ours, theirs, 1e-14, 1e-15));
    }
  }
}

CATCH_TEST_CASE("AdamW groups: each at its own learning rate, as torch's parameter groups", "[unit]") {
  // The readout at lr, the LoRA adapters at lora_lr = lr * scale: the same as torch::optim::AdamW
  // with two parameter groups whose rates keep that ratio under the schedule (weight decay too).
  torch::manual_seed(3);
  torch::Tensor a = torch::randn({4, 2}, torch::kDouble).requires_grad_(true);
  torch::Tensor b = torch::randn({3}, torch::kDouble).requires_grad_(true);
  torch::Tensor ra = a.detach().clone().requires_grad_(true), rb = b.detach().clone().requires_grad_(true);
  train::AdamWOptions options;
  options.weight_decay = 0.05;
  const double scale = 0.01;
  train::AdamW adamw(std::vector<train::ParameterGroup>{{{{"a", a}}, 1.0}, {{{"b", b}}, scale}}, options);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<torch::Tensor>{ra}, std::make_unique<torch::optim::AdamWOptions>(
                                                          torch::optim::AdamWOptions(1e-2).weight_decay(0.05)));
  groups.emplace_back(std::vector<torch::Tensor>{rb}, std::make_unique<torch::optim::AdamWOptions>(
                                                          torch::optim::AdamWOptions(1e-4).weight_decay(0.05)));
  torch::optim::AdamW reference(std::move(groups));
  const auto loss = [](const torch::Tensor& x, const torch::Tensor& y, int k) {
    return (x * (k + 1.0)).sin().sum() + (y - static_cast<double>(k)).pow(2).sum();
  };
  for (int k = 0; k < 5; ++k) {
    const double lr = 1e-2 * (k + 1) / 5.0;
    adamw.zero_grad();
    loss(a, b, k).backward();
    adamw.step(lr);
    static_cast<torch::optim::AdamWOptions&>(reference.param_groups()[0].options()).lr(lr);
    static_cast<torch::optim::AdamWOptions&>(reference.param_groups()[1].options()).lr(lr * scale);
    reference.zero_grad();
    loss(ra, rb, k).backward();
    reference.step();
    CATCH_REQUIRE(torch::allclose(a, ra, 1e-14, 1e-15));
    CATCH_REQUIRE(torch::allclose(b, rb, 1e-14, 1e-15));
  }
  CATCH_CHECK_THAT(thrown_message<UsageError>([&] {
                     train::AdamW twice(std::vector<train::ParameterGroup>{{{{"a", a}}, 1.0}, {{{"a", b}}, 1.0}}, {});
                   }),
                   Contains("parameter 'a' is in two groups"));
}

CATCH_TEST_CASE("AdamW state round-trips: a restored optimiser continues identically", "[unit]") {
  torch::manual_seed(2);
  torch::Tensor a = torch::randn({4}).requires_grad_(true);
  train::AdamW first({{"p", a}}, {});
  const auto step = [](train::AdamW& opt, torch::Tensor& p, int k) {
    opt.zero_grad();
    (p * static_cast<double>(k + 1)).sin().sum().backward();
    opt.step(1e-2);
  };
  for (int k = 0; k < 3; ++k) step(first, a, k);
  torch::Tensor b = a.detach().clone().requires_grad_(true);
  train::AdamW second({{"p", b}}, {});
  second.load_state(first.state(), "state");
  CATCH_CHECK(second.steps() == 3);
  for (int k = 3; k < 6; ++k) {
    step(first, a, k);
    step(second, b, k);
  }
  CATCH_CHECK(torch::equal(a, b));
  auto broken = first.state();
  broken.erase("p.exp_avg");
  CATCH_CHECK_THAT(thrown_message<InputError>([&] { second.load_state(broken, "ckpt.safetensors"); }),
                   Contains("ckpt.safetensors: optimiser state 'p.exp_avg' is missing"));
}

CATCH_TEST_CASE("schedule: linear warm-up, then cosine to zero", "[unit]") {
  CATCH_CHECK(train::scheduled_lr(1.0, 0, 100, 10, "cosine") == Approx(0.1));
  CATCH_CHECK(train::scheduled_lr(1.0, 9, 100, 10, "cosine") == Approx(1.0));
  CATCH_CHECK(train::scheduled_lr(1.0, 10, 100, 10, "cosine") == Approx(1.0));
  CATCH_CHECK(train::scheduled_lr(1.0, 55, 100, 10, "cosine") == Approx(0.5));
  CATCH_CHECK(train::scheduled_lr(1.0, 100, 100, 10, "cosine") == Approx(0.0).margin(1e-12));
  CATCH_CHECK(train::scheduled_lr(1.0, 70, 100, 10, "constant") == Approx(1.0));
  CATCH_CHECK_THROWS_AS(train::scheduled_lr(1.0, 70, 100, 10, "linear"), UsageError);
}

CATCH_TEST_CASE("Rng: reproducible streams, permutations, unbiased ranges", "[unit]") {
  Rng a(7, {1, 2}), b(7, {1, 2}), c(7, {2, 1});
  CATCH_CHECK(a.next() == b.next());
  CATCH_CHECK(Rng(7, {1, 2}).next() != c.next());
  auto order = Rng(3).permutation(50);
  std::sort(order.begin(), order.end());
  for (std::int64_t i = 0; i < 50; ++i) CATCH_CHECK(order[static_cast<std::size_t>(i)] == i);
  Rng r(11);
  std::vector<int> counts(3);
  for (int i = 0; i < 30000; ++i) ++counts[r.below(3)];
  for (int c3 : counts) CATCH_CHECK(std::abs(c3 - 10000) < 400);
  for (int i = 0; i < 1000; ++i) {
    const double u = r.uniform(0.5, 2.0);
    CATCH_CHECK((u >= 0.5 && u < 2.0));
  }
}

CATCH_TEST_CASE("checkpoints: round trip, and refusals naming the file", "[unit]") {
  const auto dir = lidere::testing::scratch_dir("checkpoints");
  readout::ReadoutConfig config;
  config.feature_channels = 6;
  config.feature_grid = {2, 3};
  config.base_grid = {4, 6};
  config.classes = 3;
  for (const auto kind : {readout::ReadoutKind::kLiDeRe, readout::ReadoutKind::kLinear}) {
    torch::manual_seed(3);
    readout::ReadoutHead head(kind, config);
    inference::Checkpoint checkpoint;
    checkpoint.meta = {{"readout", readout::readout_kind_name(kind)},
                       {"readout_config", readout::readout_config_to_json(config)},
                       {"step", 5}};
    checkpoint.model = state_dict(head.module());
    checkpoint.optimizer["step"] = torch::tensor({5}, torch::kLong);
    const std::string path = (dir / "a.safetensors").string();
    inference::save_checkpoint(path, checkpoint);
    const inference::Checkpoint loaded = inference::load_checkpoint(path);
    CATCH_CHECK(loaded.meta.at("step") == 5);
    CATCH_CHECK(loaded.optimizer.at("step").item<std::int64_t>() == 5);
    readout::ReadoutHead restored = inference::readout_from_checkpoint(loaded, path);
    const torch::Tensor features = torch::randn({2, 6, 2, 3});
    CATCH_CHECK(torch::equal(head.forward(features).at("logits"), restored.forward(features).at("logits")));
    CATCH_CHECK(head.forward(features).at("logits").sizes() == torch::IntArrayRef({2, 3, 16, 24}));
  }
  save_safetensors((dir / "plain.safetensors").string(), {{"x", torch::zeros({2})}});
  CATCH_CHECK_THAT(thrown_message<InputError>([&] { inference::load_checkpoint((dir / "plain.safetensors").string()); }),
                   Contains("plain.safetensors: not a lidere checkpoint"));
  inference::Checkpoint wrong;
  wrong.meta = {{"readout", "lidere"}, {"readout_config", readout::readout_config_to_json(config)}};
  wrong.model["layers.0.proj.0.weight"] = torch::zeros({64, 6, 1, 1});
  inference::save_checkpoint((dir / "partial.safetensors").string(), wrong);
  CATCH_CHECK_THAT(thrown_message<InputError>([&] {
                     inference::readout_from_checkpoint(inference::load_checkpoint((dir / "partial.safetensors").string()),
                                                    (dir / "partial.safetensors").string());
                   }),
                   Contains("partial.safetensors"));
}

CATCH_TEST_CASE("train config: --set overrides by name with type checks", "[unit]") {
  train::TrainConfig config;
  train::apply_overrides(config,
                         {"lr=0.01", "imgsz=288x384", "augment=standard", "name=2024", "layers=[3,7]", "amp=false"});
  CATCH_CHECK(config.lr == 0.01);
  CATCH_CHECK(config.imgsz == std::vector<std::int64_t>{288, 384});
  CATCH_CHECK(config.augment == "standard");
  CATCH_CHECK(config.name == "2024");
  CATCH_CHECK(config.layers == std::vector<int>{3, 7});
  CATCH_CHECK_FALSE(config.amp);
  train::apply_overrides(config, {"imgsz=320"});
  CATCH_CHECK(config.imgsz == std::vector<std::int64_t>{320, 320});
  CATCH_CHECK_THAT(thrown_message<UsageError>([&] { train::apply_overrides(config, {"learning_rate=1"}); }),
                   Contains("--set learning_rate: no such setting") && Contains("iterations"));
  CATCH_CHECK_THAT(thrown_message<UsageError>([&] { train::apply_overrides(config, {"batch=many"}); }),
                   Contains("--set batch: expected a number, got 'many'"));
  CATCH_CHECK_THAT(thrown_message<UsageError>([&] { train::apply_overrides(config, {"lr"}); }), Contains("key=value"));
  const train::TrainConfig round = train::config_from_json(train::to_json(config));
  CATCH_CHECK(train::to_json(round) == train::to_json(config));
  config.augment = "wild";
  CATCH_CHECK_THAT(thrown_message<UsageError>([&] { config.validate(); }), Contains("augment 'wild'"));
  config.augment = "none";
  train::apply_overrides(config, {"interp=reference"});
  config.validate();
  config.interp = "fastest";
  CATCH_CHECK_THAT(thrown_message<UsageError>([&] { config.validate(); }),
                   Contains("interp 'fastest'") && Contains("auto, reference, factorized or cuda"));
}

CATCH_TEST_CASE("run folders are numbered; metrics.csv drops rows after a resume point", "[unit]") {
  const auto dir = lidere::testing::scratch_dir("runs");
  const auto a = train::RunDir::create(dir, "seg", "train"), b = train::RunDir::create(dir, "seg", "train");
  CATCH_CHECK(a.path() == dir / "seg" / "train");
  CATCH_CHECK(b.path() == dir / "seg" / "train2");
  CATCH_CHECK(std::filesystem::is_directory(b.path() / "weights"));
  {
    train::MetricsCsv csv(a.file("metrics.csv"), {"step", "loss"});
    for (int s = 1; s <= 4; ++s) csv.append({10.0 * s, 1.0 / s});
  }
  train::MetricsCsv resumed(a.file("metrics.csv"), {"step", "loss"}, 20);
  resumed.append({30.0, 9.0});
  const auto table = train::read_metrics_csv(a.file("metrics.csv"));
  CATCH_CHECK(table.column("step") == std::vector<double>{10, 20, 30});
  CATCH_CHECK(table.column("loss").back() == 9.0);
  CATCH_CHECK_THROWS_AS(train::RunDir::open(dir / "nothing"), InputError);
}
