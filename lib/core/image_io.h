// Reading images (JPEG, PNG, BMP, TIFF, WebP, ... through OpenCV) into tensors.
#pragma once

#include <string>

#include <torch/types.h>

namespace lidere {

// (3, H, W) float32 RGB in [0, 1]. Grayscale and RGBA are converted; 16-bit images are scaled.
// Throws InputError naming the file when it is missing or cannot be decoded.
torch::Tensor read_image_rgb(const std::string& path);

// Writes (3, H, W) RGB, float in [0, 1] or uint8, in the format the extension names (.png, .jpg,
// ...). Throws InputError naming the file when it cannot be written.
void write_image_rgb(const std::string& path, const torch::Tensor& image);

}  // namespace lidere
