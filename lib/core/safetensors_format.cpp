#include "core/safetensors_format.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <unistd.h>
#include <fstream>
#include <limits>
#include <numeric>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/errors.h"

namespace lidere::safetensors {
namespace {

struct DTypeInfo {
  DType dtype;
  std::string_view name;
  std::size_t size;
};

constexpr DTypeInfo kDTypes[] = {
    {DType::kF64, "F64", 8}, {DType::kF32, "F32", 4}, {DType::kF16, "F16", 2},
    {DType::kBF16, "BF16", 2}, {DType::kI64, "I64", 8}, {DType::kI32, "I32", 4},
    {DType::kU8, "U8", 1},   {DType::kBool, "BOOL", 1},
};

const DTypeInfo& info(DType dtype) {
  for (const auto& i : kDTypes) {
    if (i.dtype == dtype) return i;
  }
  throw Error(ExitCode::kInternal, "unknown safetensors dtype enum value");
}

[[noreturn]] void fail(std::string_view source, const std::string& problem) {
  throw InputError(fmt::format("{}: not a valid safetensors file: {}", source, problem));
}

std::uint64_t read_u64_le(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Multiplies without overflow; returns false when the product does not fit.
bool checked_mul(std::uint64_t a, std::uint64_t b, std::uint64_t* out) {
  if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) return false;
  *out = a * b;
  return true;
}

TensorEntry parse_entry(std::string_view source, const std::string& name,
                        const nlohmann::json& value) {
  if (!value.is_object()) fail(source, fmt::format("entry '{}' is not a JSON object", name));
  TensorEntry entry;
  entry.name = name;

  const auto dtype_it = value.find("dtype");
  if (dtype_it == value.end() || !dtype_it->is_string()) {
    fail(source, fmt::format("tensor '{}' has no string \"dtype\"", name));
  }
  const auto dtype_str = dtype_it->get<std::string>();
  if (!parse_dtype(dtype_str, &entry.dtype)) {
    fail(source, fmt::format("tensor '{}' has unsupported dtype '{}' (supported: F64, F32, F16, "
                             "BF16, I64, I32, U8, BOOL)",
                             name, dtype_str));
  }

  const auto shape_it = value.find("shape");
  if (shape_it == value.end() || !shape_it->is_array()) {
    fail(source, fmt::format("tensor '{}' has no \"shape\" array", name));
  }
  std::uint64_t numel = 1;
  for (const auto& dim : *shape_it) {
    if (!dim.is_number_unsigned()) {
      fail(source, fmt::format("tensor '{}' has a shape entry that is not a non-negative integer",
                               name));
    }
    const auto d = dim.get<std::uint64_t>();
    if (d > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ||
        !checked_mul(numel, d, &numel)) {
      fail(source, fmt::format("tensor '{}' has a shape whose size overflows", name));
    }
    entry.shape.push_back(static_cast<std::int64_t>(d));
  }

  const auto offsets_it = value.find("data_offsets");
  if (offsets_it == value.end() || !offsets_it->is_array() || offsets_it->size() != 2 ||
      !(*offsets_it)[0].is_number_unsigned() || !(*offsets_it)[1].is_number_unsigned()) {
    fail(source, fmt::format("tensor '{}' needs \"data_offsets\": [begin, end] of non-negative "
                             "integers",
                             name));
  }
  entry.begin = (*offsets_it)[0].get<std::uint64_t>();
  entry.end = (*offsets_it)[1].get<std::uint64_t>();
  if (entry.end < entry.begin) {
    fail(source, fmt::format("tensor '{}' has data_offsets [{}, {}] with end before begin", name,
                             entry.begin, entry.end));
  }
  std::uint64_t nbytes = 0;
  if (!checked_mul(numel, info(entry.dtype).size, &nbytes) || nbytes != entry.end - entry.begin) {
    fail(source, fmt::format("tensor '{}' of dtype {} and {} elements needs {} bytes but its "
                             "data_offsets [{}, {}] span {}",
                             name, dtype_str, numel, nbytes, entry.begin, entry.end,
                             entry.end - entry.begin));
  }
  return entry;
}

}  // namespace

std::string_view dtype_name(DType dtype) { return info(dtype).name; }
std::size_t dtype_size(DType dtype) { return info(dtype).size; }

bool parse_dtype(std::string_view name, DType* dtype) {
  for (const auto& i : kDTypes) {
    if (i.name == name) {
      *dtype = i.dtype;
      return true;
    }
  }
  return false;
}

Layout parse_layout(std::string_view source, const unsigned char* head, std::size_t head_size,
                    std::uint64_t file_size) {
  if (file_size < 8 || head_size < 8) {
    fail(source, fmt::format("file is {} bytes, too short for the 8-byte header length", file_size));
  }
  const std::uint64_t header_len = read_u64_le(head);
  if (header_len > kMaxHeaderBytes) {
    fail(source, fmt::format("header length {} exceeds the limit of {} bytes (corrupt length "
                             "field?)",
                             header_len, kMaxHeaderBytes));
  }
  if (8 + header_len > file_size) {
    fail(source, fmt::format("truncated: header length {} reaches past the end of the {}-byte "
                             "file",
                             header_len, file_size));
  }
  if (head_size < 8 + header_len) {
    throw Error(ExitCode::kInternal, "parse_layout: caller passed fewer header bytes than needed");
  }

  nlohmann::json header;
  try {
    header = nlohmann::json::parse(head + 8, head + 8 + header_len);
  } catch (const nlohmann::json::exception& e) {
    fail(source, fmt::format("header is not valid JSON ({})", e.what()));
  }
  if (!header.is_object()) fail(source, "header JSON is not an object");

  Layout layout;
  layout.data_start = 8 + header_len;
  const std::uint64_t data_size = file_size - layout.data_start;
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) fail(source, "\"__metadata__\" is not a JSON object");
      for (const auto& [mkey, mvalue] : value.items()) {
        if (!mvalue.is_string()) {
          fail(source, fmt::format("metadata value '{}' is not a string", mkey));
        }
        layout.metadata[mkey] = mvalue.get<std::string>();
      }
      continue;
    }
    TensorEntry entry = parse_entry(source, key, value);
    if (entry.end > data_size) {
      fail(source, fmt::format("tensor '{}' has data_offsets [{}, {}] outside the {}-byte data "
                               "section (truncated file?)",
                               key, entry.begin, entry.end, data_size));
    }
    layout.tensors.push_back(std::move(entry));
  }

  // No two tensors may share bytes: a writer never produces that, and aliasing would make
  // in-place edits of one tensor silently change another.
  std::vector<const TensorEntry*> by_offset;
  for (const auto& t : layout.tensors) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorEntry* a, const TensorEntry* b) { return a->begin < b->begin; });
  for (std::size_t i = 1; i < by_offset.size(); ++i) {
    const TensorEntry& prev = *by_offset[i - 1];
    const TensorEntry& cur = *by_offset[i];
    if (cur.begin < prev.end && cur.end > cur.begin && prev.end > prev.begin) {
      fail(source, fmt::format("tensors '{}' [{}, {}] and '{}' [{}, {}] overlap", prev.name,
                               prev.begin, prev.end, cur.name, cur.begin, cur.end));
    }
  }
  return layout;
}

Layout read_layout(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot open ({})", path, std::strerror(errno)));
  in.seekg(0, std::ios::end);
  const auto file_size = static_cast<std::uint64_t>(in.tellg());
  in.seekg(0);
  unsigned char len_bytes[8] = {};
  in.read(reinterpret_cast<char*>(len_bytes), std::min<std::uint64_t>(8, file_size));
  if (file_size < 8) return parse_layout(path, len_bytes, static_cast<std::size_t>(file_size), file_size);
  const std::uint64_t header_len = read_u64_le(len_bytes);
  if (header_len > kMaxHeaderBytes || 8 + header_len > file_size) {
    return parse_layout(path, len_bytes, 8, file_size);  // reports the problem
  }
  std::vector<unsigned char> head(8 + header_len);
  std::memcpy(head.data(), len_bytes, 8);
  in.read(reinterpret_cast<char*>(head.data() + 8), static_cast<std::streamsize>(header_len));
  if (!in) throw InputError(fmt::format("{}: read error in the header", path));
  return parse_layout(path, head.data(), head.size(), file_size);
}

std::vector<unsigned char> serialize(const std::vector<TensorBytes>& tensors,
                                     const std::map<std::string, std::string>& metadata) {
  std::vector<std::size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), 0);
  // Largest element size first keeps every tensor aligned to its element size.
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return dtype_size(tensors[a].dtype) > dtype_size(tensors[b].dtype);
  });

  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (std::size_t i : order) {
    const TensorBytes& t = tensors[i];
    std::uint64_t numel = 1;
    for (auto d : t.shape) numel *= static_cast<std::uint64_t>(d);
    if (numel * dtype_size(t.dtype) != t.nbytes) {
      throw Error(ExitCode::kInternal,
                  fmt::format("serialize: tensor '{}' has {} bytes, its shape needs {}", t.name,
                              t.nbytes, numel * dtype_size(t.dtype)));
    }
    if (header.contains(t.name)) {
      throw Error(ExitCode::kInternal, fmt::format("serialize: duplicate tensor name '{}'", t.name));
    }
    header[t.name] = {{"dtype", dtype_name(t.dtype)},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + t.nbytes}}};
    offset += t.nbytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');

  std::vector<unsigned char> out(8 + text.size() + offset);
  std::uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<unsigned char>((n >> (8 * i)) & 0xff);
  std::memcpy(out.data() + 8, text.data(), text.size());
  unsigned char* data = out.data() + 8 + text.size();
  for (std::size_t i : order) {
    if (tensors[i].nbytes) std::memcpy(data, tensors[i].data, tensors[i].nbytes);
    data += tensors[i].nbytes;
  }
  return out;
}

void write_file_atomically(const std::string& path, const std::vector<unsigned char>& bytes) {
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw InputError(fmt::format("{}: cannot write ({})", tmp, std::strerror(errno)));
  // fsync before the rename: otherwise a crash can leave the new name pointing at no data.
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size() &&
                  std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  std::fclose(f);
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw InputError(fmt::format("{}: write failed ({})", path, std::strerror(errno)));
  }
}

}  // namespace lidere::safetensors
