// Reading images (JPEG, PNG, BMP, TIFF, WebP, ... through OpenCV) into tensors.
#pragma once

#include <string>

#include <torch/types.h>

namespace lidere {

// (3, H, W) float32 RGB in [0, 1]. Grayscale and RGBA are converted; 16-bit images are scaled.
// Throws InputError naming the file when it is missing or cannot be decoded.
torch::Tensor read_image_rgb(const std::string& path);

}  // namespace lidere
