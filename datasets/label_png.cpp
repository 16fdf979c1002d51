#include "datasets/label_png.h"

#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "core/errors.h"

namespace lidere::datasets {
namespace {

struct PngError {
  std::string message;
};

[[noreturn]] void on_error(png_structp png, png_const_charp message) {
  static_cast<PngError*>(png_get_error_ptr(png))->message = message;
  std::longjmp(png_jmpbuf(png), 1);
}

void on_warning(png_structp, png_const_charp) {}

}  // namespace

torch::Tensor read_label_png(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) throw InputError(fmt::format("{}: cannot open label file", path));
  unsigned char signature[8] = {};
  if (std::fread(signature, 1, 8, file.get()) != 8 || png_sig_cmp(signature, 0, 8) != 0) {
    throw InputError(fmt::format("{}: label is not a PNG file", path));
  }
  PngError error;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &error, on_error, on_warning);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info) {
    png_destroy_read_struct(&png, &info, nullptr);
    throw InputError(fmt::format("{}: cannot set up the PNG decoder", path));
  }
  // Everything libpng can longjmp out of happens between setjmp and the cleanup below; only
  // trivially destructible state lives there, the tensor is allocated before.
  torch::Tensor labels;
  std::vector<png_bytep> rows;
  int color_type = 0, bit_depth = 0;
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    throw InputError(fmt::format("{}: damaged PNG ({})", path, error.message));
  }
  png_init_io(png, file.get());
  png_set_sig_bytes(png, 8);
  png_read_info(png, info);
  const auto width = static_cast<std::int64_t>(png_get_image_width(png, info));
  const auto height = static_cast<std::int64_t>(png_get_image_height(png, info));
  color_type = png_get_color_type(png, info);
  bit_depth = png_get_bit_depth(png, info);
  const bool indexed = color_type == PNG_COLOR_TYPE_PALETTE || color_type == PNG_COLOR_TYPE_GRAY;
  if (!indexed) {
    png_destroy_read_struct(&png, &info, nullptr);
    throw InputError(
        fmt::format("{}: label must be a grayscale or palette PNG of class indices, not a colour "
                    "image",
                    path));
  }
  if (bit_depth < 8) png_set_packing(png);  // 1/2/4-bit indices -> one byte each, values kept
  if (bit_depth == 16) png_set_swap(png);   // big-endian in the file, native order in memory
  png_read_update_info(png, info);
  const bool wide = bit_depth == 16;
  labels = torch::empty({height, width}, wide ? torch::kInt16 : torch::kUInt8);
  const std::size_t row_bytes = static_cast<std::size_t>(width) * (wide ? 2 : 1);
  rows.resize(static_cast<std::size_t>(height));
  for (std::int64_t r = 0; r < height; ++r) rows[r] = static_cast<png_bytep>(labels.data_ptr()) + r * row_bytes;
  png_read_image(png, rows.data());
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  // 16-bit values above 32767 read as negative int16: reinterpret as unsigned.
  return wide ? labels.to(torch::kInt64).bitwise_and(0xffff) : labels.to(torch::kInt64);
}

void write_label_png(const std::string& path, const torch::Tensor& labels,
                     const std::vector<std::array<std::uint8_t, 3>>& palette) {
  const bool indexed = palette.size() <= 256;
  const torch::Tensor pixels = labels.to(indexed ? torch::kUInt8 : torch::kInt32).contiguous().cpu();
  const auto rows = static_cast<png_uint_32>(pixels.size(0)), cols = static_cast<png_uint_32>(pixels.size(1));
  const std::string temporary = path + ".tmp";
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(temporary.c_str(), "wb"), &std::fclose);
  if (!file) throw InputError(fmt::format("{}: cannot write label file", path));
  PngError error;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &error, on_error, on_warning);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info) {
    png_destroy_write_struct(&png, &info);
    throw InputError(fmt::format("{}: out of memory writing PNG", path));
  }
  // Rows as big-endian 16-bit values when not indexed (PNG's byte order).
  std::vector<png_byte> row(static_cast<std::size_t>(cols) * (indexed ? 1 : 2));
  std::vector<png_color> colours;
  for (const auto& c : palette) colours.push_back({c[0], c[1], c[2]});
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    throw InputError(fmt::format("{}: cannot write PNG ({})", path, error.message));
  }
  png_init_io(png, file.get());
  png_set_IHDR(png, info, cols, rows, indexed ? 8 : 16, indexed ? PNG_COLOR_TYPE_PALETTE : PNG_COLOR_TYPE_GRAY,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (indexed && !colours.empty()) png_set_PLTE(png, info, colours.data(), static_cast<int>(colours.size()));
  png_write_info(png, info);
  for (png_uint_32 r = 0; r < rows; ++r) {
    if (indexed) {
      const auto* src = pixels.data_ptr<std::uint8_t>() + static_cast<std::size_t>(r) * cols;
      std::copy(src, src + cols, row.begin());
    } else {
      const auto* src = pixels.data_ptr<std::int32_t>() + static_cast<std::size_t>(r) * cols;
      for (png_uint_32 c = 0; c < cols; ++c) {
        row[2 * c] = static_cast<png_byte>((src[c] >> 8) & 0xFF);
        row[2 * c + 1] = static_cast<png_byte>(src[c] & 0xFF);
      }
    }
    png_write_row(png, row.data());
  }
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  if (std::fflush(file.get()) != 0) throw InputError(fmt::format("{}: cannot write label file", path));
  file.reset();
  if (std::rename(temporary.c_str(), path.c_str()) != 0)
    throw InputError(fmt::format("{}: cannot write label file", path));
}

}  // namespace lidere::datasets
