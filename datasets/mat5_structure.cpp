#include "datasets/mat5_structure.h"

#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include <fmt/format.h>

#include "core/errors.h"

namespace lidere::datasets {
namespace {

// MAT 5 data types and array classes (MATLAB's "MAT-File Format", 2015, tables 1-1 and 1-3).
enum : std::uint32_t { kInt8 = 1, kInt32 = 5, kUInt32 = 6, kMatrix = 14, kCompressed = 15 };
enum : std::uint32_t { kCell = 1, kStruct = 2, kObject = 3, kChar = 4, kSparse = 5, kFunction = 16, kOpaque = 17 };

constexpr std::uint64_t kMaxFileBytes = std::uint64_t{1} << 31;
// A variable inflates to at most this much here (BSDS500 ground truth: about 1 MB; 8 annotators of
// 4K maps: about 200 MB).
constexpr std::size_t kMaxInflated = std::size_t{1} << 29;
constexpr int kMaxDepth = 16;

struct Element {
  std::uint32_t type = 0;
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;   // bytes of data
  std::size_t total = 0;  // bytes the element takes, tag and padding included
};

class Checker {
 public:
  Checker(const std::string& path, bool swap) : path_(path), swap_(swap) {}

  void variables(const std::uint8_t* p, std::size_t n) {
    while (n >= 8) {
      const Element e = next(p, n, /*top_level=*/true);
      if (e.type == kCompressed) {
        const std::vector<std::uint8_t> inflated = inflate(e.data, e.size);
        std::size_t pos = 0;
        while (inflated.size() - pos >= 8) {
          const Element inner = next(inflated.data() + pos, inflated.size() - pos, true);
          if (inner.type == kMatrix) matrix(inner.data, inner.size, 0);
          pos += inner.total;
        }
      } else if (e.type == kMatrix) {
        matrix(e.data, e.size, 0);
      }
      p += e.total;
      n -= e.total;
    }
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const {
    throw InputError(fmt::format("{}: damaged MAT-file: {}", path_, problem));
  }

  std::uint32_t u32(const std::uint8_t* p) const {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return swap_ ? __builtin_bswap32(v) : v;
  }

  // The element at p, n bytes left. Compressed elements are not padded; a top-level element may
  // end without its padding at the end of the file.
  Element next(const std::uint8_t* p, std::size_t n, bool top_level) const {
    if (n < 8) fail("an element tag runs past the end of its parent");
    Element e;
    const std::uint32_t first = u32(p);
    if (first >> 16 != 0) {  // the small data element format: up to 4 bytes inside the tag
      e.type = first & 0xffff;
      e.size = first >> 16;
      if (e.size > 4) fail(fmt::format("a small data element claims {} bytes", e.size));
      e.data = p + 4;
      e.total = 8;
      return e;
    }
    e.type = first;
    e.size = u32(p + 4);
    if (e.size > n - 8) fail(fmt::format("an element claims {} bytes where {} are left", e.size, n - 8));
    e.data = p + 8;
    const std::size_t padded = e.type == kCompressed ? e.size : (e.size + 7) / 8 * 8;
    e.total = 8 + std::min(padded, n - 8);
    if (!top_level && padded > n - 8) fail("an element's padding runs past the end of its parent");
    return e;
  }

  std::vector<std::uint8_t> inflate(const std::uint8_t* data, std::size_t size) const {
    std::vector<std::uint8_t> out;
    z_stream z{};
    if (inflateInit(&z) != Z_OK) fail("zlib could not start");
    z.next_in = const_cast<Bytef*>(data);
    z.avail_in = static_cast<uInt>(size);
    int status = Z_OK;
    while (status == Z_OK) {
      if (out.size() >= kMaxInflated) {
        inflateEnd(&z);
        fail(fmt::format("a compressed variable inflates to more than {} MB", kMaxInflated >> 20));
      }
      const std::size_t at = out.size();
      out.resize(std::min(kMaxInflated, at + std::max<std::size_t>(1 << 16, at)));
      z.next_out = out.data() + at;
      z.avail_out = static_cast<uInt>(out.size() - at);
      status = ::inflate(&z, Z_NO_FLUSH);
      out.resize(out.size() - z.avail_out);
      if (status == Z_BUF_ERROR && z.avail_in > 0) status = Z_OK;  // only needs more room
    }
    inflateEnd(&z);
    // A stream cut short inflates to what it holds; what it holds is checked like the rest.
    return out;
  }

  static std::size_t data_type_size(std::uint32_t type) {
    switch (type) {
      case 1: case 2: return 1;             // int8, uint8
      case 3: case 4: return 2;             // int16, uint16
      case 5: case 6: case 7: return 4;     // int32, uint32, single
      case 9: case 12: case 13: return 8;   // double, int64, uint64
      default: return 0;
    }
  }

  void matrix(const std::uint8_t* p, std::size_t n, int depth) const {
    if (depth > kMaxDepth) fail(fmt::format("cells or structs nested more than {} deep", kMaxDepth));
    if (n == 0) return;  // an empty array
    const Element flags = next(p, n, false);
    if (flags.type != kUInt32 || flags.size < 8) fail("an array has no array-flags element");
    const std::uint32_t array_class = u32(flags.data) & 0xff;
    const bool complex = (u32(flags.data) >> 11) & 1;
    p += flags.total;
    n -= flags.total;
    const Element dims = next(p, n, false);
    if (dims.type != kInt32 || dims.size < 8 || dims.size % 4 != 0) fail("an array has no dimensions element");
    std::uint64_t count = 1;
    for (std::size_t i = 0; i < dims.size / 4; ++i) {
      const auto d = static_cast<std::int32_t>(u32(dims.data + 4 * i));
      if (d < 0) fail(fmt::format("an array has the negative dimension {}", d));
      count = d == 0 ? 0 : (count > (std::uint64_t{1} << 62) / static_cast<std::uint64_t>(d) ? std::uint64_t{1} << 62
                                                                                              : count * d);
    }
    p += dims.total;
    n -= dims.total;
    const Element name = next(p, n, false);
    if (name.type != kInt8) fail("an array has no name element");
    p += name.total;
    n -= name.total;
    // Every element of a cell or struct is an element of its own: at least a tag of 8 bytes.
    const auto children = [&](std::uint64_t elements, const char* what) {
      if (elements > n / 8) {
        fail(fmt::format("a {} array claims {} elements in the {} bytes that follow", what, elements, n));
      }
      for (std::uint64_t i = 0; i < elements; ++i) {
        const Element child = next(p, n, false);
        if (child.type != kMatrix) fail(fmt::format("element {} of a {} array is not an array", i + 1, what));
        matrix(child.data, child.size, depth + 1);
        p += child.total;
        n -= child.total;
      }
    };
    switch (array_class) {
      case kCell:
        children(count, "cell");
        return;
      case kStruct: {
        const Element length = next(p, n, false);
        if (length.type != kInt32 || length.size != 4) fail("a struct has no field-name length");
        const std::uint32_t width = u32(length.data);
        p += length.total;
        n -= length.total;
        const Element names = next(p, n, false);
        if (names.type != kInt8 || width == 0 || names.size % width != 0) fail("a struct's field names do not fit");
        p += names.total;
        n -= names.total;
        const std::uint64_t fields = names.size / width;
        if (fields != 0 && count > (std::uint64_t{1} << 62) / fields) fail("a struct array claims too many fields");
        children(count * fields, "struct");
        return;
      }
      case kObject:
      case kFunction:
      case kOpaque:
        fail("MATLAB objects, function handles and opaque classes are not read");
      case kChar:
      case kSparse:
        return;  // libmatio sizes these by their data elements
      default: {  // numeric and logical arrays: the real part (and an imaginary one) hold every element
        if (count == 0) return;
        for (int part = 0; part < (complex ? 2 : 1); ++part) {
          const Element values = next(p, n, false);
          const std::size_t width = data_type_size(values.type);
          if (width == 0) fail(fmt::format("an array's data has the unknown type {}", values.type));
          if (values.size / width < count) {
            fail(fmt::format("an array claims {} elements but holds {} bytes of data", count, values.size));
          }
          p += values.total;
          n -= values.total;
        }
      }
    }
  }

  const std::string& path_;
  bool swap_;
};

}  // namespace

void check_mat5_structure(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const std::uint64_t size = fs::file_size(path, ec);
  if (ec) return;  // libmatio says why it cannot open it
  if (size > kMaxFileBytes) throw InputError(fmt::format("{}: {} bytes, too large for a MAT-file read here", path, size));
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (in.gcount() != static_cast<std::streamsize>(size) || size < 128) return;
  // The header: 116 bytes of text, 8 of subsystem offset, version 0x0100 and the endian mark "IM"
  // as written by the machine that wrote it ("MI" when its byte order is the other one).
  const bool little = bytes[126] == 'I' && bytes[127] == 'M', big = bytes[126] == 'M' && bytes[127] == 'I';
  if (!little && !big) return;
  const std::uint16_t version = little ? static_cast<std::uint16_t>(bytes[124] | (bytes[125] << 8))
                                       : static_cast<std::uint16_t>((bytes[124] << 8) | bytes[125]);
  if (version != 0x0100) return;  // MAT 7.3 (HDF5): libmatio's HDF5 path
  Checker(path, big).variables(bytes.data() + 128, bytes.size() - 128);
}

}  // namespace lidere::datasets
