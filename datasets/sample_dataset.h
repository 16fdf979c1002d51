// The embedded default dataset: textured objects composited onto photographs, generated
// deterministically from photos a Debian package ships (scikit-image's sample images, unpacked by
// scripts/sample_photos.sh). Objects are random ellipses and polygons filled with one of three
// grayscale materials (brick, grass, gravel), tinted with a random colour so that only the
// texture tells the class; object borders are marked with the ignore index 255, as in VOC.
//
//   <out>/lidere.json              dataset config (folder format, 4 classes)
//   <out>/{train,val}/images/*.png, <out>/{train,val}/labels/*.png (indexed palette PNG)
//   <out>/predict/                 a few images of other sizes and formats (JPEG, PNG, BMP, TIFF)
#pragma once

#include <cstdint>
#include <string>

namespace lidere::datasets {

struct SampleDatasetOptions {
  std::string photos;  // folder with the scikit-image sample photos
  std::string out;
  std::int64_t train = 48, val = 16;
  std::int64_t size = 256;  // rows and columns of the train/val images
  std::uint64_t seed = 0;
};

// Throws InputError when the photo folder lacks the needed images (naming them).
void write_sample_dataset(const SampleDatasetOptions& options);

}  // namespace lidere::datasets
