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

// A one-channel map with its own precision: (H, W) float64 = level / (2^bits - 1) for 8- and
// 16-bit images (colour images: their first channel). Throws InputError naming the file.
torch::Tensor read_gray_levels(const std::string& path);

// Writes integer levels (H, W) in [0, 2^bits) as an 8- or 16-bit grayscale PNG. Throws InputError
// naming the file when it cannot be written.
void write_gray_png(const std::string& path, const torch::Tensor& levels, int bits);

}  // namespace lidere
