// Reading segmentation label maps: PNG files whose pixel values are class indices.
#pragma once

#include <string>

#include <torch/types.h>

namespace lidere::datasets {

// (H, W) int64 class indices from an 8- or 16-bit grayscale PNG or a palette PNG (the palette
// index is the class, as in Pascal VOC; OpenCV would expand it to colours, hence libpng).
// Throws InputError naming the file for a missing or undecodable file or a colour (RGB) label.
torch::Tensor read_label_png(const std::string& path);

}  // namespace lidere::datasets
