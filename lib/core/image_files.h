// Which files are images, and finding them: what dataset readers and `lidere predict` agree on.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace lidere {

// Whether a file's extension is one of the image formats we read (JPEG, PNG, BMP, TIFF, WebP),
// in any letter case.
bool is_image_file(const std::filesystem::path& path);

// An image to predict, with the name its outputs get.
struct ImageInput {
  std::filesystem::path file;
  std::string output_stem;  // relative path (without extension) under the output folders
};

// Every image under the sources (files, and folders searched recursively), in a stable order,
// each named by its path relative to the folder given (so sub-folders are kept) without the
// extension; where two images would share a name (a.jpg, a.png) the extension is kept in it.
// Throws InputError for a source that does not exist or when no image is found.
std::vector<ImageInput> find_images(const std::vector<std::string>& sources);

}  // namespace lidere
