// The dataset config reader (lidere.json: format, root, splits, classes, ignore_index): every config
// opens a dataset or is refused with an InputError naming the config (or the file it points to).
// The folder holds one valid folder-layout split, so that valid configs reach the file checks.
#include <fstream>

#include <torch/torch.h>

#include "core/errors.h"
#include "core/plot.h"
#include "datasets/dataset_config.h"
#include "datasets/label_png.h"
#include "fuzz/fuzz_target.h"

namespace lidere::fuzz {
namespace {

const std::filesystem::path& dataset_dir() {
  static const std::filesystem::path dir = [] {
    const auto d = scratch_dir() / "dataset";
    std::filesystem::create_directories(d / "train" / "images");
    std::filesystem::create_directories(d / "train" / "labels");
    datasets::write_label_png((d / "train" / "labels" / "a.png").string(), torch::zeros({4, 4}, torch::kLong),
                              class_palette(2));
    std::filesystem::copy_file(d / "train" / "labels" / "a.png", d / "train" / "images" / "a.png");
    std::ofstream(d / "train.txt") << "train/images/a.png train/labels/a.png\n";
    std::ofstream(d / "classes.txt") << "background\nthing\n";
    return d;
  }();
  return dir;
}

}  // namespace

std::vector<Bytes> fuzz_seeds() {
  std::vector<Bytes> seeds;
  for (const std::string text :
       {R"({"format": "folder", "classes": ["background", "thing"], "ignore_index": 255})",
        R"({"format": "list", "splits": {"train": "train.txt"}, "classes": "classes.txt"})",
        R"({"format": "voc", "root": ".", "splits": {"train": "train"}, "classes": ["a", "b"]})"}) {
    seeds.emplace_back(text.begin(), text.end());
  }
  return seeds;
}

void fuzz_one(const std::uint8_t* data, std::size_t size) {
  const std::string path = (dataset_dir() / "lidere.json").string();
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  try {
    datasets::open_segmentation_dataset(dataset_dir().string(), "train");
  } catch (const InputError& e) {
    // The config, or the file or folder it led to, inside the dataset folder.
    expect_names(e.what(), dataset_dir().string());
  }
}

}  // namespace lidere::fuzz
