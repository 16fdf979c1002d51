// The safetensors container format, independent of any tensor library.
//
// Layout: an 8-byte little-endian header length N, N bytes of UTF-8 JSON mapping each tensor
// name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the data
// section that follows the header) plus an optional "__metadata__" object of string values.
//
// parse_safetensors() validates everything a malicious or truncated file could get wrong
// (header length, JSON, dtypes, shapes, offsets inside the file, sizes matching the shape,
// no overlaps) so that callers can read tensor bytes without further checks. It is kept free
// of LibTorch so that it can be fuzzed and run under AddressSanitizer on its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace lidere::safetensors {

enum class DType { kF64, kF32, kF16, kBF16, kI64, kI32, kU8, kBool };

// The dtype's name in the file ("F64", ...), and its size in bytes.
std::string_view dtype_name(DType dtype);
std::size_t dtype_size(DType dtype);
// Parses a dtype name; returns false for a name this reader does not support.
bool parse_dtype(std::string_view name, DType* dtype);

struct TensorEntry {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;  // byte offset of the first element, relative to the data section
  std::uint64_t end = 0;    // one past the last byte
};

struct Layout {
  std::uint64_t data_start = 0;  // absolute file offset of the data section (8 + N)
  std::vector<TensorEntry> tensors;  // in the header's order
  std::map<std::string, std::string> metadata;
};

// Largest header we accept. The reference implementation limits it to 100 MB; a larger value
// is almost certainly a corrupt length field, and refusing it avoids a huge allocation.
inline constexpr std::uint64_t kMaxHeaderBytes = 100ull * 1024 * 1024;

// Validates the header of a file of `file_size` bytes whose first bytes are `head`
// (at least min(file_size, 8 + N) bytes must be given). Throws lidere::InputError naming
// `source` (a file name, for messages) and the problem.
Layout parse_layout(std::string_view source, const unsigned char* head, std::size_t head_size,
                    std::uint64_t file_size);

// Reads and validates the header of a file on disk.
Layout read_layout(const std::string& path);

// A tensor to write: raw little-endian bytes, which must match dtype and shape.
struct TensorBytes {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<std::int64_t> shape;
  const void* data = nullptr;
  std::size_t nbytes = 0;
};

// Serialises tensors (sorted by alignment, 8-byte dtypes first, so every tensor is aligned to
// its element size) and metadata into the safetensors byte layout.
std::vector<unsigned char> serialize(const std::vector<TensorBytes>& tensors,
                                     const std::map<std::string, std::string>& metadata);

// Writes `bytes` to `path` atomically: to a temporary file beside it, flushed, then renamed,
// so a reader (or a killed process) never sees a half-written file.
void write_file_atomically(const std::string& path, const std::vector<unsigned char>& bytes);

}  // namespace lidere::safetensors
