#include "tasks/segmentation/segmentation_io.h"

#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/image_io.h"
#include "core/plot.h"
#include "datasets/dataset_config.h"
#include "datasets/label_png.h"
#include "datasets/segmentation_loader.h"
#include "tasks/segmentation/segmentation_task.h"

namespace lidere::tasks {
namespace {

namespace fs = std::filesystem;

class MaskWriter : public PredictWriter {
 public:
  MaskWriter(std::vector<std::string> names, fs::path out, PredictSettings settings)
      : names_(std::move(names)), out_(std::move(out)), settings_(settings) {
    const auto classes = static_cast<std::int64_t>(names_.size());
    palette_ = class_palette(classes);
    // Overlays skip the palette's black so that every class is visible on the photo.
    auto colours = class_palette(classes + 1);
    colours.erase(colours.begin());
    overlay_table_ = torch::from_blob(colours.data(), {classes, 3}, torch::kUInt8).to(torch::kFloat) / 255.0;
  }

  nlohmann::json write(const ImageInput& input, const torch::Tensor& image, const Outputs& results) override {
    const torch::Tensor& scores = results.at("logits");
    const torch::Tensor mask = scores.argmax(0);
    const fs::path mask_file = out_ / "masks" / (input.output_stem + ".png");
    fs::create_directories(mask_file.parent_path());
    datasets::write_label_png(mask_file.string(), mask, palette_);
    nlohmann::json entry = {{"image", input.file.string()}, {"mask", mask_file.string()}};
    if (settings_.overlay) {
      const fs::path overlay_file = out_ / "overlays" / (input.output_stem + ".jpg");
      fs::create_directories(overlay_file.parent_path());
      const torch::Tensor colours = overlay_table_.index({mask}).permute({2, 0, 1});
      write_image_rgb(overlay_file.string(), 0.55 * image + 0.45 * colours);
      entry["overlay"] = overlay_file.string();
    }
    if (settings_.probabilities) {
      const fs::path prob_file = out_ / "probabilities" / (input.output_stem + ".safetensors");
      write_probabilities(prob_file, scores.softmax(0), names_, input.file);
      entry["probabilities"] = prob_file.string();
    }
    return entry;
  }

  std::string summary(std::size_t images) const override {
    return fmt::format("{} masks in {}", images, (out_ / "masks").string());
  }

 private:
  std::vector<std::string> names_;
  fs::path out_;
  PredictSettings settings_;
  std::vector<std::array<std::uint8_t, 3>> palette_;
  torch::Tensor overlay_table_;
};

class SegmentationIo : public TaskIo {
 public:
  SplitData open_split(const std::string& data, const std::string& split, const nlohmann::json& options) const override {
    auto dataset = datasets::open_segmentation_dataset(data, split, options.at("ignore_index").get<std::int64_t>());
    SplitData out;
    out.description = fmt::format("{} classes, ignore index {}", dataset.labels.classes(), dataset.labels.ignore_index);
    out.task_fields = {{"class_names", dataset.labels.class_names}, {"ignore_index", dataset.labels.ignore_index}};
    out.check = [dataset] {
      datasets::validate_samples(dataset.samples, dataset.labels, dataset.description);
      return nlohmann::json::object();
    };
    out.samples = datasets::segmentation_source(dataset.samples, dataset.labels.ignore_index);
    return out;
  }

  std::unique_ptr<PredictWriter> predict_writer(const Task& task, const fs::path& out,
                                                const PredictSettings& settings) const override {
    return std::make_unique<MaskWriter>(dynamic_cast<const SegmentationTask&>(task).spec().class_names, out,
                                        settings);
  }

  std::vector<std::string> write_report(const Metrics&, const nlohmann::json& details, const fs::path& dir,
                                        const std::string& split) const override {
    const auto names = details.at("class_names").get<std::vector<std::string>>();
    const auto rows = details.at("confusion").get<std::vector<std::vector<std::int64_t>>>();
    const std::string csv_name = fmt::format("confusion_{}.csv", split), png_name = fmt::format("confusion_{}.png", split);
    std::ofstream csv(dir / csv_name);
    csv << fmt::format("truth\\prediction,{}\n", fmt::join(names, ","));
    std::vector<std::int64_t> flat;
    for (std::size_t r = 0; r < rows.size(); ++r) {
      csv << fmt::format("{},{}\n", names[r], fmt::join(rows[r], ","));
      flat.insert(flat.end(), rows[r].begin(), rows[r].end());
    }
    const auto n = static_cast<std::int64_t>(rows.size());
    plot_confusion(torch::tensor(flat, torch::kLong).reshape({n, n}), names, (dir / png_name).string());
    return {csv_name, png_name};
  }

  std::vector<std::string> summary_lines(const Metrics&, const nlohmann::json& details) const override {
    std::vector<std::string> lines = {"  per-class IoU:"};
    const auto names = details.at("class_names").get<std::vector<std::string>>();
    for (std::size_t k = 0; k < names.size(); ++k) {
      const auto& v = details.at("iou").at(k);
      lines.push_back(fmt::format("    {:<18} {}", names[k],
                                  v.is_null() ? std::string("-   (absent)") : fmt::format("{:.4f}", v.get<double>())));
    }
    return lines;
  }
};

}  // namespace

std::unique_ptr<TaskIo> make_segmentation_io() { return std::make_unique<SegmentationIo>(); }

}  // namespace lidere::tasks
