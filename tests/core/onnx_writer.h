// Writing small ONNX models byte by byte (the protobuf wire format of onnx/onnx.proto), for the
// reader's tests and the fuzzer's seeds: each field is spelled out, so a test can also write what
// no exporter would (wrong wire types, sizes that do not match, external data).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace lidere::testing::onnx_writer {

using Bytes = std::vector<std::uint8_t>;

inline void varint(Bytes& out, std::uint64_t v) {
  do {
    std::uint8_t byte = v & 0x7f;
    v >>= 7;
    out.push_back(static_cast<std::uint8_t>(byte | (v ? 0x80 : 0)));
  } while (v);
}

inline void key(Bytes& out, std::uint32_t field, int wire) { varint(out, (std::uint64_t{field} << 3) | wire); }

inline void bytes_field(Bytes& out, std::uint32_t field, const Bytes& value) {
  key(out, field, 2);
  varint(out, value.size());
  out.insert(out.end(), value.begin(), value.end());
}

inline void string_field(Bytes& out, std::uint32_t field, const std::string& value) {
  bytes_field(out, field, Bytes(value.begin(), value.end()));
}

inline void varint_field(Bytes& out, std::uint32_t field, std::uint64_t value) {
  key(out, field, 0);
  varint(out, value);
}

template <typename T>
Bytes raw(const std::vector<T>& values) {
  Bytes out(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(out.data(), values.data(), out.size());
  return out;
}

// A TensorProto. `body` holds the data fields (raw_data, float_data, ...), written after dims,
// data_type and name.
inline Bytes tensor(const std::string& name, int data_type, const std::vector<std::int64_t>& dims, const Bytes& body) {
  Bytes t;
  for (const auto d : dims) varint_field(t, 1, static_cast<std::uint64_t>(d));
  varint_field(t, 2, static_cast<std::uint64_t>(data_type));
  string_field(t, 8, name);
  t.insert(t.end(), body.begin(), body.end());
  return t;
}

inline Bytes raw_tensor(const std::string& name, const std::vector<std::int64_t>& dims, const std::vector<float>& v) {
  Bytes body;
  bytes_field(body, 9, raw(v));
  return tensor(name, 1, dims, body);
}

inline Bytes node(const std::string& name, const std::string& op, const std::vector<std::string>& inputs,
                  const std::vector<std::string>& outputs) {
  Bytes n;
  for (const auto& i : inputs) string_field(n, 1, i);
  for (const auto& o : outputs) string_field(n, 2, o);
  string_field(n, 3, name);
  string_field(n, 4, op);
  return n;
}

// A ModelProto around a graph of these initializers and nodes (ir_version 7, opset 14).
inline Bytes model(const std::vector<Bytes>& initializers, const std::vector<Bytes>& nodes) {
  Bytes graph;
  for (const auto& n : nodes) bytes_field(graph, 1, n);
  string_field(graph, 2, "test");
  for (const auto& i : initializers) bytes_field(graph, 5, i);
  Bytes input;
  string_field(input, 1, "pixel_values");
  bytes_field(graph, 11, input);
  Bytes m;
  varint_field(m, 1, 7);
  string_field(m, 2, "lidere-test");
  string_field(m, 3, "1");
  bytes_field(m, 7, graph);
  Bytes opset;
  string_field(opset, 1, "");
  varint_field(opset, 2, 14);
  bytes_field(m, 8, opset);
  return m;
}

}  // namespace lidere::testing::onnx_writer
