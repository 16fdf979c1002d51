#include "tests/cli/toy_task/toy_task.h"

#include <filesystem>
#include <fstream>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <torch/nn/functional/loss.h>

#include "core/errors.h"
#include "core/image_files.h"
#include "core/image_io.h"

namespace lidere::toy {
namespace {

namespace fs = std::filesystem;

torch::Tensor luma(const torch::Tensor& image) {  // (3, H, W) -> (1, H, W)
  return (0.299 * image[0] + 0.587 * image[1] + 0.114 * image[2]).unsqueeze(0);
}

// Share of pixels within the tolerance, and the mean absolute error.
class ToyEvaluator : public tasks::Evaluator {
 public:
  explicit ToyEvaluator(double tolerance) : tolerance_(tolerance) {}
  void add(const tasks::Outputs& results, const data::Annotation& truth) override {
    const torch::Tensor error = (results.at("luma") - truth.value_map->values).abs();
    within_ += (error < tolerance_).sum().item<double>();
    abs_sum_ += error.sum().item<double>();
    pixels_ += static_cast<double>(error.numel());
  }
  tasks::Metrics metrics() const override {
    return {{{"within_tolerance", pixels_ > 0 ? within_ / pixels_ : 0.0}, {"mae", pixels_ > 0 ? abs_sum_ / pixels_ : 0.0}}};
  }
  nlohmann::json details() const override { return {{"tolerance", tolerance_}, {"pixels", pixels_}}; }

 private:
  double tolerance_, within_ = 0, abs_sum_ = 0, pixels_ = 0;
};

class ToyTask : public tasks::Task {
 public:
  explicit ToyTask(nlohmann::json options) : options_(std::move(options)) {}
  std::string name() const override { return "toy"; }
  readout::HeadLayout heads() const override { return {{{"luma", 1, 0.0}, {"inverse", 1, 0.0}}, {}}; }
  void build_targets(data::Batch& batch) const override {
    // At the readout's output grid, half the input size.
    const std::int64_t rows = batch.images.size(2) / 2, cols = batch.images.size(3) / 2;
    std::vector<torch::Tensor> targets;
    for (std::size_t i = 0; i < batch.annotations.size(); ++i) {
      targets.push_back(batch.annotations[i].value_map->transformed(batch.transforms[i], rows, cols).values);
    }
    batch.targets["luma"] = torch::stack(targets);
  }
  torch::Tensor loss(const tasks::Outputs& o, const data::Batch& b) const override {
    namespace F = torch::nn::functional;
    const torch::Tensor target = b.targets.at("luma").to(o.at("luma").device());
    return F::l1_loss(o.at("luma"), target) + options_.at("weight").get<double>() * F::l1_loss(o.at("inverse"), 1 - target);
  }
  tasks::Outputs results(const tasks::Outputs& o, std::int64_t rows, std::int64_t cols) const override {
    return {{"luma", at::upsample_bilinear2d(o.at("luma"), {rows, cols}, false)[0].clamp(0, 1)}};
  }
  std::unique_ptr<tasks::Evaluator> evaluator() const override {
    return std::make_unique<ToyEvaluator>(options_.at("tolerance").get<double>());
  }
  nlohmann::json describe() const override {
    nlohmann::json d = options_;
    d["task"] = name();
    return d;
  }

 private:
  nlohmann::json options_;
};

std::vector<fs::path> images_in(const fs::path& dir) {
  if (!fs::is_directory(dir)) throw InputError(fmt::format("{}: no such folder of images", dir.string()));
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file() && is_image_file(e.path())) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) throw InputError(fmt::format("{}: no images", dir.string()));
  return files;
}

class LumaWriter : public tasks::PredictWriter {
 public:
  explicit LumaWriter(fs::path out) : out_(std::move(out)) {}
  nlohmann::json write(const ImageInput& input, const torch::Tensor&, const tasks::Outputs& results) override {
    const fs::path file = out_ / "luma" / (input.output_stem + ".png");
    fs::create_directories(file.parent_path());
    write_gray_png(file.string(), results.at("luma")[0].mul(255).round().to(torch::kInt32), 8);
    return {{"image", input.file.string()}, {"luma", file.string()}};
  }
  std::string summary(std::size_t images) const override {
    return fmt::format("{} luma maps in {}", images, (out_ / "luma").string());
  }

 private:
  fs::path out_;
};

class ToyIo : public tasks::TaskIo {
 public:
  // <data>/<split>/images/*: each image its own ground truth.
  tasks::SplitData open_split(const std::string& data, const std::string& split,
                              const nlohmann::json&) const override {
    auto files = std::make_shared<const std::vector<fs::path>>(images_in(fs::path(data) / split / "images"));
    tasks::SplitData out;
    out.description = "images that are their own brightness targets";
    out.samples = {static_cast<std::int64_t>(files->size()),
                   [files](std::int64_t i) {
                     data::Sample s{read_image_rgb((*files)[static_cast<std::size_t>(i)].string()), {}};
                     s.annotation.value_map = data::ValueMap{luma(s.image)};
                     return s;
                   },
                   [files](std::int64_t i) { return (*files)[static_cast<std::size_t>(i)].string(); }};
    out.check = [files] {
      for (const auto& f : *files) read_image_rgb(f.string());
      return nlohmann::json::object();
    };
    return out;
  }
  std::unique_ptr<tasks::PredictWriter> predict_writer(const tasks::Task&, const fs::path& out,
                                                       const tasks::PredictSettings&) const override {
    return std::make_unique<LumaWriter>(out);
  }
  std::vector<std::string> write_report(const tasks::Metrics& metrics, const nlohmann::json&, const fs::path& dir,
                                        const std::string& split) const override {
    const std::string name = fmt::format("toy_report_{}.txt", split);
    std::ofstream(dir / name) << fmt::format("within_tolerance {:.4f}\n", metrics.at("within_tolerance"));
    return {name};
  }
  // --pred: a folder of <stem>.png luma maps; --gt: the folder of the images they were made from.
  tasks::ScoreReport score_predictions(const tasks::ScoreRequest& r) const override {
    ToyEvaluator evaluator(r.options.at("tolerance").get<double>());
    const auto images = images_in(r.gt);
    for (const auto& image : images) {
      const fs::path predicted = fs::path(r.pred) / (image.stem().string() + ".png");
      if (!fs::is_regular_file(predicted)) throw InputError(fmt::format("{}: missing", predicted.string()));
      data::Annotation truth;
      truth.value_map = data::ValueMap{luma(read_image_rgb(image.string()))};
      evaluator.add({{"luma", read_gray_levels(predicted.string()).to(torch::kFloat).unsqueeze(0)}}, truth);
    }
    tasks::ScoreReport report;
    report.json = evaluator.metrics().to_json();
    report.json["images"] = images.size();
    report.lines = {fmt::format("{} images: within tolerance {:.4f}", images.size(),
                                evaluator.metrics().at("within_tolerance"))};
    return report;
  }
};

}  // namespace

const tasks::OptionTable& toy_options() {
  static const tasks::OptionTable table = {
      tasks::OptionSpec("tolerance", 0.1, "a pixel's brightness counts as right within this")
          .on_command_line("--tolerance", tasks::kEvalCommand),
      tasks::OptionSpec("weight", 1.0, "weight of the inverse head's loss").carried_by_checkpoints(),
  };
  return table;
}

std::unique_ptr<tasks::Task> make_toy_task(const nlohmann::json& description) {
  return std::make_unique<ToyTask>(tasks::resolve_options(toy_options(), description, "toy"));
}

std::unique_ptr<tasks::TaskIo> make_toy_io() { return std::make_unique<ToyIo>(); }

}  // namespace lidere::toy
