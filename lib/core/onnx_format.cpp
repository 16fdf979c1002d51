#include "core/onnx_format.h"

#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <unordered_set>

#include <fmt/format.h>

#include "core/errors.h"

static_assert(std::endian::native == std::endian::little, "ONNX raw_data is little-endian; big-endian hosts need swaps");

namespace lidere::onnx {
namespace {

// A protobuf message is 2 GiB at most, so is an ONNX file without external data.
constexpr std::uint64_t kMaxModelBytes = std::uint64_t{2} << 30;
constexpr std::size_t kMaxRank = 64;

enum Wire : int { kVarint = 0, kFixed64 = 1, kBytes = 2, kFixed32 = 5 };

struct Field {
  std::uint32_t number = 0;
  int wire = 0;
  std::uint64_t value = 0;  // varint, fixed32 and fixed64 fields
  const std::uint8_t* data = nullptr;  // length-delimited fields
  std::size_t size = 0;
  std::string_view text() const { return {reinterpret_cast<const char*>(data), size}; }
};

// Iterates over the fields of one message. Offsets in messages count from the file's start.
class Reader {
 public:
  Reader(std::string_view source, const std::uint8_t* file_start, const std::uint8_t* begin, std::size_t size,
         const char* message)
      : source_(source), file_start_(file_start), p_(begin), end_(begin + size), message_(message) {}

  Reader nested(const Field& f, const char* message) const {
    return Reader(source_, file_start_, f.data, f.size, message);
  }

  bool next(Field* f) {
    if (p_ == end_) return false;
    const std::uint64_t key = varint();
    f->number = static_cast<std::uint32_t>(key >> 3);
    f->wire = static_cast<int>(key & 7);
    if (key >> 3 == 0 || key >> 3 > 0x1fffffff) fail(fmt::format("field number {}", key >> 3));
    switch (f->wire) {
      case kVarint:
        f->value = varint();
        break;
      case kFixed64:
        f->value = fixed(8);
        break;
      case kFixed32:
        f->value = fixed(4);
        break;
      case kBytes: {
        const std::uint64_t n = varint();
        if (n > static_cast<std::uint64_t>(end_ - p_)) {
          fail(fmt::format("field {} claims {} bytes, {} are left", f->number, n, end_ - p_));
        }
        f->data = p_;
        f->size = static_cast<std::size_t>(n);
        p_ += n;
        break;
      }
      default:
        fail(fmt::format("field {} has wire type {} (groups and unknown types are not ONNX)", f->number, f->wire));
    }
    return true;
  }

  // A field of the wrong wire type for its number is a damaged file, not a newer ONNX version.
  void expect(const Field& f, int wire, const char* field_name) const {
    if (f.wire != wire) fail(fmt::format("field '{}' has wire type {}, not {}", field_name, f.wire, wire));
  }

  // The varints of a packed repeated field (or the one value of an unpacked one).
  std::vector<std::uint64_t> varints(const Field& f, const char* field_name) const {
    if (f.wire == kVarint) return {f.value};
    expect(f, kBytes, field_name);
    Reader packed = nested(f, message_);
    std::vector<std::uint64_t> out;
    while (packed.p_ != packed.end_) out.push_back(packed.varint());
    return out;
  }

  [[noreturn]] void fail(const std::string& problem) const {
    throw InputError(fmt::format("{}: not a readable ONNX model: {} in {} at byte {}", source_, problem, message_,
                                 p_ - file_start_));
  }

  std::string_view source() const { return source_; }

 private:
  std::uint64_t varint() {
    std::uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) fail("a varint runs past the end");
      const std::uint8_t byte = *p_++;
      value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return value;
    }
    fail("a varint is longer than 10 bytes");
  }

  std::uint64_t fixed(int bytes) {
    if (end_ - p_ < bytes) fail("a fixed-size field runs past the end");
    std::uint64_t value = 0;
    std::memcpy(&value, p_, static_cast<std::size_t>(bytes));
    p_ += bytes;
    return value;
  }

  std::string_view source_;
  const std::uint8_t* file_start_;
  const std::uint8_t* p_;
  const std::uint8_t* end_;
  const char* message_;
};

// The values of a tensor's typed fields, before they are checked against its dims.
struct TensorFields {
  std::vector<std::uint8_t> float_bytes, double_bytes;
  std::vector<std::uint64_t> int32_data, int64_data, uint64_data;
  std::optional<std::vector<std::uint8_t>> raw;
  bool external = false;
  std::string location;
  std::uint64_t offset = 0;
  std::optional<std::uint64_t> length;
  bool has_strings = false;
};

void append_fixed(const Reader& r, const Field& f, std::size_t width, std::vector<std::uint8_t>* out,
                  const char* field_name) {
  if (f.wire == kBytes) {
    if (f.size % width != 0) r.fail(fmt::format("packed '{}' holds {} bytes, not a multiple of {}", field_name, f.size, width));
    out->insert(out->end(), f.data, f.data + f.size);
    return;
  }
  r.expect(f, width == 4 ? kFixed32 : kFixed64, field_name);
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(&f.value);
  out->insert(out->end(), bytes, bytes + width);
}

void append(std::vector<std::uint64_t>* to, const std::vector<std::uint64_t>& values) {
  to->insert(to->end(), values.begin(), values.end());
}

std::vector<std::uint8_t> read_external(const Reader& r, const std::string& name, const TensorFields& t,
                                        std::uint64_t nbytes, const std::string& model_dir) {
  namespace fs = std::filesystem;
  if (model_dir.empty()) r.fail(fmt::format("tensor '{}' has external data, which is not read here", name));
  const fs::path location(t.location);
  bool escapes = t.location.empty() || location.is_absolute();
  for (const auto& part : location) escapes = escapes || part == "..";
  if (escapes) {
    r.fail(fmt::format("tensor '{}' has its data in '{}', not a file inside the model's folder", name, t.location));
  }
  const fs::path file = fs::path(model_dir) / location;
  std::error_code ec;
  const std::uint64_t file_size = fs::file_size(file, ec);
  if (ec) {
    throw InputError(fmt::format("{}: tensor '{}' has its data in {}, which cannot be read ({})", r.source(), name,
                                 file.string(), ec.message()));
  }
  if (t.length && *t.length != nbytes) {
    r.fail(fmt::format("tensor '{}' has external length {} for {} bytes of data", name, *t.length, nbytes));
  }
  if (t.offset > file_size || nbytes > file_size - t.offset) {
    throw InputError(fmt::format("{}: tensor '{}' needs bytes {}..{} of {}, which holds {}", r.source(), name,
                                 t.offset, t.offset + nbytes, file.string(), file_size));
  }
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(nbytes));
  std::ifstream in(file, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(t.offset));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(nbytes));
  if (in.gcount() != static_cast<std::streamsize>(nbytes)) {
    throw InputError(fmt::format("{}: read error in {} (external data of tensor '{}')", r.source(), file.string(), name));
  }
  return bytes;
}

Initializer parse_tensor(const Reader& outer, const Field& message, const std::string& model_dir) {
  Reader r = outer.nested(message, "a TensorProto");
  Initializer out;
  TensorFields t;
  Field f;
  while (r.next(&f)) {
    switch (f.number) {
      case 1:
        for (const std::uint64_t d : r.varints(f, "dims")) out.dims.push_back(static_cast<std::int64_t>(d));
        break;
      case 2:
        r.expect(f, kVarint, "data_type");
        out.data_type = static_cast<int>(std::min<std::uint64_t>(f.value, std::numeric_limits<int>::max()));
        break;
      case 3: r.fail("a segmented tensor (TensorProto.segment) is not supported");
      case 4: append_fixed(r, f, 4, &t.float_bytes, "float_data"); break;
      case 5: append(&t.int32_data, r.varints(f, "int32_data")); break;
      case 6: t.has_strings = true; break;
      case 7: append(&t.int64_data, r.varints(f, "int64_data")); break;
      case 8:
        r.expect(f, kBytes, "name");
        out.name = std::string(f.text());
        break;
      case 9:
        r.expect(f, kBytes, "raw_data");
        t.raw.emplace(f.data, f.data + f.size);
        break;
      case 10: append_fixed(r, f, 8, &t.double_bytes, "double_data"); break;
      case 11: append(&t.uint64_data, r.varints(f, "uint64_data")); break;
      case 13: {  // external_data: StringStringEntryProto {1: key, 2: value}
        r.expect(f, kBytes, "external_data");
        Reader entry = r.nested(f, "an external_data entry");
        std::string key, value;
        Field e;
        while (entry.next(&e)) {
          if (e.number == 1 || e.number == 2) {
            entry.expect(e, kBytes, e.number == 1 ? "key" : "value");
            (e.number == 1 ? key : value) = std::string(e.text());
          }
        }
        const auto number = [&] {
          std::uint64_t v = 0;
          for (const char c : value) {
            if (c < '0' || c > '9' || v > (std::numeric_limits<std::uint64_t>::max() - 9) / 10) {
              r.fail(fmt::format("external_data '{}' is '{}', not a byte count", key, value));
            }
            v = v * 10 + static_cast<std::uint64_t>(c - '0');
          }
          return v;
        };
        if (key == "location") t.location = value;
        else if (key == "offset") t.offset = number();
        else if (key == "length") t.length = number();
        break;
      }
      case 14:
        r.expect(f, kVarint, "data_location");
        t.external = f.value == 1;
        break;
      default: break;  // doc_string, metadata_props: not needed
    }
  }
  const std::string& name = out.name;
  if (name.empty()) r.fail("an initializer has no name");
  const std::size_t width = element_size(out.data_type);
  if (width == 0 || t.has_strings) {
    r.fail(fmt::format("tensor '{}' has data type {}, which this reader does not convert", name,
                       data_type_name(out.data_type)));
  }
  if (out.dims.size() > kMaxRank) r.fail(fmt::format("tensor '{}' has rank {}", name, out.dims.size()));
  std::uint64_t count = 1;
  for (const std::int64_t d : out.dims) {
    if (d < 0) r.fail(fmt::format("tensor '{}' has a negative dimension {}", name, d));
    const auto ud = static_cast<std::uint64_t>(d);
    if (ud != 0 && count > std::numeric_limits<std::uint64_t>::max() / width / ud) {
      r.fail(fmt::format("tensor '{}' has dims whose element count overflows", name));
    }
    count *= ud;
  }
  const std::uint64_t nbytes = count * width;
  const auto mismatch = [&](const char* field, std::uint64_t have, const char* unit) {
    r.fail(fmt::format("tensor '{}' has {} {} in {} for {} elements of {}", name, have, unit, field, count,
                       data_type_name(out.data_type)));
  };
  const auto narrow = [&](const std::vector<std::uint64_t>& values, const char* field) {
    if (values.size() != count) mismatch(field, values.size(), "values");
    out.bytes.resize(static_cast<std::size_t>(nbytes));
    for (std::size_t i = 0; i < values.size(); ++i) std::memcpy(out.bytes.data() + i * width, &values[i], width);
  };
  const auto dt = static_cast<DataType>(out.data_type);
  if (t.external) {
    out.bytes = read_external(r, name, t, nbytes, model_dir);
  } else if (t.raw) {
    if (t.raw->size() != nbytes) mismatch("raw_data", t.raw->size(), "bytes");
    out.bytes = std::move(*t.raw);
  } else if (dt == DataType::kFloat) {
    if (t.float_bytes.size() != nbytes) mismatch("float_data", t.float_bytes.size() / 4, "values");
    out.bytes = std::move(t.float_bytes);
  } else if (dt == DataType::kDouble) {
    if (t.double_bytes.size() != nbytes) mismatch("double_data", t.double_bytes.size() / 8, "values");
    out.bytes = std::move(t.double_bytes);
  } else if (dt == DataType::kInt64) {
    narrow(t.int64_data, "int64_data");
  } else if (dt == DataType::kUInt32 || dt == DataType::kUInt64) {
    narrow(t.uint64_data, "uint64_data");
  } else {  // int32, int16, int8, uint16, uint8, bool, float16 and bfloat16 all live in int32_data
    narrow(t.int32_data, "int32_data");
  }
  return out;
}

Node parse_node(const Reader& outer, const Field& message) {
  Reader r = outer.nested(message, "a NodeProto");
  Node node;
  Field f;
  while (r.next(&f)) {
    std::string* text = nullptr;
    switch (f.number) {
      case 1: node.inputs.emplace_back(); text = &node.inputs.back(); break;
      case 2: node.outputs.emplace_back(); text = &node.outputs.back(); break;
      case 3: text = &node.name; break;
      case 4: text = &node.op_type; break;
      case 7: text = &node.domain; break;
      default: break;  // attributes, doc_string
    }
    if (text) {
      r.expect(f, kBytes, "a node string");
      *text = std::string(f.text());
    }
  }
  return node;
}

std::string value_info_name(const Reader& outer, const Field& message) {
  Reader r = outer.nested(message, "a ValueInfoProto");
  std::string name;
  Field f;
  while (r.next(&f)) {
    if (f.number == 1) {
      r.expect(f, kBytes, "name");
      name = std::string(f.text());
    }
  }
  return name;
}

void parse_graph(const Reader& outer, const Field& message, const std::string& model_dir, Model* model) {
  Reader r = outer.nested(message, "the GraphProto");
  std::unordered_set<std::string> names;
  Field f;
  while (r.next(&f)) {
    switch (f.number) {
      case 1:
        r.expect(f, kBytes, "node");
        model->nodes.push_back(parse_node(r, f));
        break;
      case 5: {
        r.expect(f, kBytes, "initializer");
        Initializer init = parse_tensor(r, f, model_dir);
        if (!names.insert(init.name).second) r.fail(fmt::format("two initializers are named '{}'", init.name));
        model->initializers.push_back(std::move(init));
        break;
      }
      case 11:
      case 12:
        r.expect(f, kBytes, "input/output");
        (f.number == 11 ? model->graph_inputs : model->graph_outputs).push_back(value_info_name(r, f));
        break;
      case 15: r.fail("sparse initializers are not supported");
      default: break;  // name, doc_string, value_info, quantization annotations
    }
  }
}

}  // namespace

std::size_t element_size(int data_type) {
  switch (static_cast<DataType>(data_type)) {
    case DataType::kUInt8:
    case DataType::kInt8:
    case DataType::kBool: return 1;
    case DataType::kUInt16:
    case DataType::kInt16:
    case DataType::kFloat16:
    case DataType::kBFloat16: return 2;
    case DataType::kFloat:
    case DataType::kInt32:
    case DataType::kUInt32: return 4;
    case DataType::kInt64:
    case DataType::kDouble:
    case DataType::kUInt64: return 8;
  }
  return 0;
}

std::string data_type_name(int data_type) {
  switch (data_type) {
    case 1: return "FLOAT";
    case 2: return "UINT8";
    case 3: return "INT8";
    case 4: return "UINT16";
    case 5: return "INT16";
    case 6: return "INT32";
    case 7: return "INT64";
    case 8: return "STRING";
    case 9: return "BOOL";
    case 10: return "FLOAT16";
    case 11: return "DOUBLE";
    case 12: return "UINT32";
    case 13: return "UINT64";
    case 16: return "BFLOAT16";
    default: return fmt::format("type {}", data_type);
  }
}

Model parse_model(std::string_view source, const std::uint8_t* data, std::size_t size, const std::string& model_dir) {
  Reader r(source, data, data, size, "the ModelProto");
  Model model;
  bool has_graph = false;
  Field f;
  while (r.next(&f)) {
    switch (f.number) {
      case 1:
        r.expect(f, kVarint, "ir_version");
        model.ir_version = static_cast<std::int64_t>(f.value);
        break;
      case 2:
      case 3:
        r.expect(f, kBytes, "producer");
        (f.number == 2 ? model.producer_name : model.producer_version) = std::string(f.text());
        break;
      case 7:
        r.expect(f, kBytes, "graph");
        if (has_graph) r.fail("a second graph");
        has_graph = true;
        parse_graph(r, f, model_dir, &model);
        break;
      case 8: {  // OperatorSetIdProto {1: domain, 2: version}
        r.expect(f, kBytes, "opset_import");
        Reader opset = r.nested(f, "an opset_import");
        std::string domain;
        std::int64_t version = 0;
        Field o;
        while (opset.next(&o)) {
          if (o.number == 1) {
            opset.expect(o, kBytes, "domain");
            domain = std::string(o.text());
          } else if (o.number == 2) {
            opset.expect(o, kVarint, "version");
            version = static_cast<std::int64_t>(o.value);
          }
        }
        if (domain.empty() || domain == "ai.onnx") model.opset = version;
        break;
      }
      default: break;  // domain, model_version, doc_string, metadata_props, functions, ...
    }
  }
  if (!has_graph || model.ir_version == 0) {
    throw InputError(fmt::format("{}: not an ONNX model (no {})", source, has_graph ? "ir_version" : "graph"));
  }
  return model;
}

Model read_model(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const std::uint64_t size = fs::file_size(path, ec);
  if (ec) throw InputError(fmt::format("{}: cannot read ({})", path, ec.message()));
  if (size > kMaxModelBytes) {
    throw InputError(fmt::format("{}: {} bytes, more than an ONNX protobuf can hold (2 GiB; larger weights live in "
                                 "external data files)",
                                 path, size));
  }
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot open ({})", path, std::strerror(errno)));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (in.gcount() != static_cast<std::streamsize>(size)) throw InputError(fmt::format("{}: read error", path));
  const fs::path dir = fs::path(path).parent_path();
  return parse_model(path, bytes.data(), bytes.size(), dir.empty() ? std::string(".") : dir.string());
}

}  // namespace lidere::onnx
