// The trainer with a trainable backbone part: LoRA adapters on a (tiny, random) ViT train with the
// readout. Only the adapters change, every frozen weight stays bit-identical, the optimiser holds
// the readout and the adapters and nothing else of the backbone, the feature cache is bypassed,
// and a resumed run gets its adapters back from the checkpoint; a trained model opens with them.
#include <ATen/ATen.h>
#include <torch/torch.h>

#include "backbones/feature_cache.h"
#include "backbones/registry.h"
#include "backbones/vit_backbone.h"
#include "core/errors.h"
#include "core/state_dict.h"
#include "core/tensor_file.h"
#include "inference/checkpoint.h"
#include "inference/model.h"
#include "tasks/segmentation/segmentation_task.h"
#include "test_common.h"
#include "test_tiny_vit.h"
#include "train/run_dir.h"
#include "train/trainer.h"

using namespace lidere;
using Catch::Matchers::Contains;
using lidere::testing::thrown_message;

namespace {

std::unique_ptr<backbones::VitBackbone> tiny_vit() {
  return lidere::testing::tiny_vit_backbone(lidere::testing::tiny_vit_config(), backbones::VitLayout::kHfDinov3, 7);
}

// Images whose left half is bright and labelled 1: a split that features can see.
data::Sample sample(std::int64_t i) {
  torch::manual_seed(500 + i);
  const std::int64_t cut = 8 + i % 16;
  torch::Tensor image = torch::rand({3, 32, 32}) * 0.3;
  image.slice(2, 0, cut) += 0.6;
  torch::Tensor labels = torch::zeros({32, 32}, torch::kLong);
  labels.slice(1, 0, cut).fill_(1);
  data::Sample s{image, {}};
  s.annotation.label_map = data::LabelMap{labels, 255};
  return s;
}

std::unique_ptr<backbones::VitBackbone> tiny_vit_with_lora() {
  auto vit = tiny_vit();
  vit->enable_lora(/*rank=*/4, /*alpha=*/8);
  return vit;
}

// The three tests' training run: 32 px, batch 4, lr 0.02, no worker threads.
train::TrainConfig tiny_train_config(std::int64_t iterations, std::int64_t val_every) {
  train::TrainConfig config;
  config.imgsz = {32, 32};
  config.iterations = iterations;
  config.batch = 4;
  config.lr = 0.02;
  config.val_every = val_every;
  config.workers = 0;
  return config;
}

}  // namespace

CATCH_TEST_CASE("LoRA adapters train with the readout; frozen weights and the cache stay out", "[unit]") {
  const auto dir = lidere::testing::scratch_dir("lora_training");
  auto vit = tiny_vit();
  vit->enable_lora(/*rank=*/4, /*alpha=*/8);
  std::map<std::string, torch::Tensor> frozen, adapters;
  for (const auto& p : vit->model()->named_parameters()) {
    (p.key().find("lora_") != std::string::npos ? adapters : frozen)[p.key()] = p.value().detach().clone();
  }
  const auto trainable = vit->trainable_parameters();
  CATCH_REQUIRE(trainable.size() == 4);  // lora_A and lora_B of both blocks
  for (const auto& [name, p] : trainable) CATCH_CHECK(adapters.count(name));

  // The feature cache is bypassed for a backbone that trains, even when asked for; the cache
  // itself refuses one.
  bool cached = true;
  std::unique_ptr<backbones::Backbone> backbone =
      inference::with_feature_cache(std::move(vit), "on", /*reusable_features=*/true, (dir / "cache").string(), &cached);
  CATCH_CHECK_FALSE(cached);
  CATCH_CHECK(dynamic_cast<backbones::VitBackbone*>(backbone.get()) != nullptr);
  CATCH_CHECK_FALSE(std::filesystem::exists(dir / "cache"));
  CATCH_CHECK_THAT(thrown_message<UsageError>([&] { backbones::CachedBackbone(tiny_vit_with_lora(), ""); }),
                   Contains("cannot serve a backbone that trains"));

  const tasks::SegmentationTask task({{"dark", "bright"}, 255});
  const train::TrainConfig config = tiny_train_config(12, 6);
  const readout::ReadoutConfig rc = inference::readout_config_for(*backbone, 32, 32, 64, 8);
  torch::manual_seed(0);
  readout::ReadoutHead readout(readout::ReadoutKind::kLiDeRe, rc, task.heads());
  const auto run = train::RunDir::create(dir, "seg", "lora");
  const data::SampleSource source{8, sample, [](std::int64_t i) { return std::to_string(i); }};
  const data::SampleLoader loader(source, {32, 32, 4, 0, {"none", 1.5, 0.0, 0.0}});
  const train::BatchSource batches{8, [&](std::int64_t step) { return loader.training_batch(step); }};
  const nlohmann::json meta = inference::describe_run(task, readout, {{"spec", "tiny"}}, config.imgsz, {});
  train::Trainer trainer(config, readout, task, inference::feature_function(*backbone, 32, 32), run, meta,
                         ProgressMode::kQuiet, backbone->trainable_parameters());
  trainer.run(batches, source, nullptr);

  const auto vit_after = dynamic_cast<backbones::VitBackbone&>(*backbone).model()->named_parameters();
  for (const auto& [name, value] : frozen) {
    CATCH_INFO(name);
    CATCH_CHECK(torch::equal(vit_after[name], value));  // bit for bit
  }
  for (const auto& [name, value] : adapters) {
    CATCH_INFO(name);
    CATCH_CHECK_FALSE(torch::equal(vit_after[name], value));
  }

  // The optimiser's state: the readout's parameters and the adapters, no other backbone weight.
  const inference::Checkpoint last = inference::load_checkpoint(run.weights("last").string());
  std::size_t backbone_state = 0;
  for (const auto& [name, t] : last.optimizer) {
    if (name.rfind("backbone.", 0) != 0) continue;
    ++backbone_state;
    CATCH_INFO(name);
    CATCH_CHECK(name.find("lora_") != std::string::npos);
  }
  CATCH_CHECK(backbone_state == 4 * 2);  // exp_avg and exp_avg_sq of each adapter
  CATCH_CHECK(last.optimizer.count("layers.0.proj.0.weight.exp_avg"));
  // The checkpoint keeps the trained adapters.
  CATCH_REQUIRE(last.backbone.size() == 4);
  for (const auto& [name, t] : last.backbone) CATCH_CHECK(torch::equal(t, vit_after[name]));

  // Resuming restores them into a fresh backbone (adapters at their initial values) before it
  // would continue; this run is complete, so it stops right after restoring.
  auto fresh = tiny_vit_with_lora();
  train::Trainer resumed(config, readout, task, inference::feature_function(*fresh, 32, 32), run, meta,
                         ProgressMode::kQuiet, fresh->trainable_parameters());
  CATCH_CHECK_THROWS_AS(resumed.run(batches, source, &last), UsageError);
  for (const auto& [name, p] : fresh->trainable_parameters()) CATCH_CHECK(torch::equal(p, last.backbone.at(name)));
}

CATCH_TEST_CASE("a LoRA run's checkpoint opens with its adapters for eval and predict", "[unit]") {
  const auto dir = lidere::testing::scratch_dir("lora_reopen");
  // A tiny ViT on disk, as a user's --backbone would be (64-wide heads: the shapes tell the rest).
  {
    backbones::VitConfig c = lidere::testing::tiny_vit_config();
    c.hidden = 64;
    c.heads = 1;
    c.intermediate = 128;
    torch::manual_seed(11);
    backbones::VisionTransformer vit(c);
    lidere::testing::randomize(*vit);
    save_safetensors((dir / "tiny_vit.safetensors").string(), state_dict(*vit));
  }
  const std::string spec = (dir / "tiny_vit.safetensors").string();
  std::unique_ptr<backbones::Backbone> backbone = backbones::open_backbone(spec, {0});
  const std::string base_fingerprint = backbones::backbone_fingerprint(*backbone);
  backbone->enable_lora(/*rank=*/4, /*alpha=*/8);
  // The adapters do not change what the base weights are.
  CATCH_CHECK(backbones::backbone_fingerprint(*backbone) == base_fingerprint);
  const nlohmann::json adapters = {{"kind", "lora"}, {"rank", 4}, {"alpha", 8.0}};

  const tasks::SegmentationTask task({{"dark", "bright"}, 255});
  const train::TrainConfig config = tiny_train_config(8, 8);
  const readout::ReadoutConfig rc = inference::readout_config_for(*backbone, 32, 32, 64, 8);
  torch::manual_seed(0);
  readout::ReadoutHead readout(readout::ReadoutKind::kLiDeRe, rc, task.heads());
  const auto run = train::RunDir::create(dir, "seg", "lora");
  const data::SampleSource source{8, sample, [](std::int64_t i) { return std::to_string(i); }};
  const data::SampleLoader loader(source, {32, 32, 4, 0, {"none", 1.5, 0.0, 0.0}});
  const train::BatchSource batches{8, [&](std::int64_t step) { return loader.training_batch(step); }};
  const nlohmann::json meta = inference::describe_run(
      task, readout, inference::describe_backbone(*backbone, spec, {0}, adapters), config.imgsz, train::to_json(config));
  train::Trainer trainer(config, readout, task, inference::feature_function(*backbone, 32, 32), run, meta,
                         ProgressMode::kQuiet, backbone->trainable_parameters());
  trainer.run(batches, source, nullptr);

  // Opened as eval and predict open it: the same adapters, the same features, frozen, no cache.
  inference::TrainedModel model = inference::load_trained_model(run.weights("last").string(), "cpu", "", {});
  const auto trained = backbone->adapter_parameters();
  const auto loaded = model.backbone->adapter_parameters();
  CATCH_REQUIRE(loaded.size() == 4);
  for (std::size_t i = 0; i < loaded.size(); ++i) {
    CATCH_CHECK(loaded[i].first == trained[i].first);
    CATCH_CHECK(torch::equal(loaded[i].second, trained[i].second));
  }
  CATCH_CHECK(model.backbone->trainable_parameters().empty());
  torch::NoGradGuard no_grad;
  const torch::Tensor images = torch::rand({2, 3, 32, 32});
  CATCH_CHECK(torch::equal(model.backbone->features(images), backbone->features(images)));
  const auto frozen = backbones::open_backbone(spec, {0});
  CATCH_CHECK_FALSE(torch::allclose(frozen->features(images), backbone->features(images)));
  bool cached = true;
  inference::with_feature_cache(std::move(model.backbone), "on", true, (dir / "cache").string(), &cached);
  CATCH_CHECK_FALSE(cached);
  // A backbone with adapters is refused by the cache itself as well.
  CATCH_CHECK_THAT(thrown_message<UsageError>([&] {
                     auto adapted = backbones::open_backbone(spec, {0});
                     adapted->enable_lora(4, 8);
                     for (auto& [name, p] : adapted->trainable_parameters()) p.set_requires_grad(false);
                     backbones::CachedBackbone cache(std::move(adapted), (dir / "cache2").string());
                   }),
                   Contains("has adapters"));
}

CATCH_TEST_CASE("lora_lr: the adapters train at their own rate, the readout at lr", "[unit]") {
  // AdamW's first step moves every entry whose gradient is not zero by its rate (m / sqrt(v) is
  // the gradient's sign then), so after one step at full rate (no warm-up) the largest change of
  // each lora_B (zero at the start) is lora_lr, and of the readout's weights lr.
  const auto dir = lidere::testing::scratch_dir("lora_lr");
  const tasks::SegmentationTask task({{"dark", "bright"}, 255});
  const data::SampleSource source{8, sample, [](std::int64_t i) { return std::to_string(i); }};
  const data::SampleLoader loader(source, {32, 32, 4, 0, {"none", 1.5, 0.0, 0.0}});
  const train::BatchSource batches{8, [&](std::int64_t step) { return loader.training_batch(step); }};
  const auto one_step = [&](double lora_lr, const std::string& name) {
    auto vit = tiny_vit_with_lora();
    train::TrainConfig config = tiny_train_config(1, 1);
    config.warmup = 0;
    config.lora_rank = 4;
    config.lora_lr = lora_lr;
    config.val_images = 1;
    config.validate();
    const readout::ReadoutConfig rc = inference::readout_config_for(*vit, 32, 32, 64, 8);
    torch::manual_seed(0);
    readout::ReadoutHead readout(readout::ReadoutKind::kLiDeRe, rc, task.heads());
    std::map<std::string, torch::Tensor> readout_before;
    for (const auto& p : readout.module().named_parameters()) readout_before[p.key()] = p.value().detach().clone();
    const auto run = train::RunDir::create(dir, "seg", name);
    const nlohmann::json meta = inference::describe_run(task, readout, {{"spec", "tiny"}}, config.imgsz, {});
    train::Trainer trainer(config, readout, task, inference::feature_function(*vit, 32, 32), run, meta,
                           ProgressMode::kQuiet, vit->trainable_parameters());
    trainer.run(batches, source, nullptr);
    double b_step = 0, readout_step = 0;
    std::map<std::string, torch::Tensor> adapters;
    for (const auto& [n, p] : vit->trainable_parameters()) {
      adapters[n] = p.detach().clone();
      if (n.find("lora_B") != std::string::npos) b_step = std::max(b_step, p.abs().max().item<double>());
    }
    for (const auto& p : readout.module().named_parameters()) {
      readout_step = std::max(readout_step, (p.value() - readout_before[p.key()]).abs().max().item<double>());
    }
    return std::make_tuple(b_step, readout_step, adapters);
  };
  const auto [b_default, readout_default, adapters_default] = one_step(0, "default");
  const auto [b_same, readout_same, adapters_same] = one_step(0.02, "same");
  const auto [b_low, readout_low, adapters_low] = one_step(2e-4, "low");
  CATCH_CHECK_THAT(b_default, Catch::Matchers::WithinRel(0.02, 1e-3));  // 0 = lr
  CATCH_CHECK_THAT(b_low, Catch::Matchers::WithinRel(2e-4, 1e-3));
  CATCH_CHECK_THAT(readout_low, Catch::Matchers::WithinRel(0.02, 1e-3));  // the readout keeps lr
  CATCH_CHECK(readout_low == readout_default);
  for (const auto& [n, t] : adapters_default) {
    CATCH_INFO(n);
    CATCH_CHECK(torch::equal(t, adapters_same.at(n)));  // lora_lr = lr is the default, bit for bit
  }
  train::TrainConfig frozen;
  frozen.lora_lr = 1e-4;
  CATCH_CHECK_THAT(thrown_message<UsageError>([&] { frozen.validate(); }), Contains("set lora_rank too"));
  frozen.lora_rank = 8;
  frozen.lora_lr = -1;
  CATCH_CHECK_THAT(thrown_message<UsageError>([&] { frozen.validate(); }), Contains("lora_lr cannot be negative"));
}
