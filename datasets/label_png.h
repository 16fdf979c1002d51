// Reading segmentation label maps: PNG files whose pixel values are class indices.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

namespace lidere::datasets {

// (H, W) int64 class indices from an 8- or 16-bit grayscale PNG or a palette PNG (the palette
// index is the class, as in Pascal VOC; OpenCV would expand it to colours, hence libpng).
// Throws InputError naming the file for a missing or undecodable file or a colour (RGB) label.
torch::Tensor read_label_png(const std::string& path);

// Writes class indices (H, W) as an indexed PNG whose palette holds `palette` (RGB per class), the
// format VOC uses: viewers show colours, read_label_png (and PIL) read the indices back. More than
// 256 classes are written as 16-bit grayscale instead. Throws InputError naming the file.
void write_label_png(const std::string& path, const torch::Tensor& labels,
                     const std::vector<std::array<std::uint8_t, 3>>& palette);

}  // namespace lidere::datasets
