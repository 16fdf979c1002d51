#include "core/image_files.h"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <map>

#include <fmt/format.h>

#include "core/errors.h"

namespace lidere {

namespace fs = std::filesystem;

bool is_image_file(const fs::path& p) {
  static const char* kExtensions[] = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"};
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return std::find(std::begin(kExtensions), std::end(kExtensions), ext) != std::end(kExtensions);
}

std::vector<ImageInput> find_images(const std::vector<std::string>& sources) {
  std::vector<ImageInput> inputs;
  for (const auto& source : sources) {
    const fs::path root(source);
    if (fs::is_directory(root)) {
      std::vector<fs::path> files;
      for (const auto& entry : fs::recursive_directory_iterator(root)) {
        if (entry.is_regular_file() && is_image_file(entry.path())) files.push_back(entry.path());
      }
      std::sort(files.begin(), files.end());
      for (const auto& f : files) inputs.push_back({f, fs::relative(f, root).replace_extension().string()});
    } else if (fs::is_regular_file(root)) {
      inputs.push_back({root, root.stem().string()});
    } else {
      throw InputError(fmt::format("{}: no such image file or folder", source));
    }
  }
  if (inputs.empty()) throw InputError("no images found in the given sources (JPEG, PNG, BMP, TIFF, WebP)");
  std::map<std::string, int> uses;
  for (const auto& in : inputs) ++uses[in.output_stem];
  for (auto& in : inputs) {
    if (uses[in.output_stem] > 1) {
      const std::string extension = in.file.extension().string();  // ".jpg"
      in.output_stem.append("_").append(extension, 1, std::string::npos);
    }
  }
  return inputs;
}

}  // namespace lidere
