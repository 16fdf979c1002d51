// The ONNX model format (a protocol buffer, onnx/onnx.proto), read without protobuf or LibTorch:
// the graph's initializers (the weights) and nodes (which operator consumes which tensor), which
// is all a weight loader needs. Everything else in the file (attributes, value infos, metadata,
// functions) is skipped by its wire type.
//
// parse_model() validates what a damaged or hostile file could get wrong (truncated fields,
// varints longer than 10 bytes, lengths past the end, nesting, tensor sizes that do not match
// their dims, overflowing element counts, external data outside the model's folder) and throws
// lidere::InputError naming the file and the problem; it is kept free of LibTorch so that it can
// be fuzzed under AddressSanitizer on its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lidere::onnx {

// TensorProto.DataType values this reader converts (others are refused by name).
enum class DataType : int {
  kFloat = 1,
  kUInt8 = 2,
  kInt8 = 3,
  kUInt16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kBool = 9,
  kFloat16 = 10,
  kDouble = 11,
  kUInt32 = 12,
  kUInt64 = 13,
  kBFloat16 = 16,
};

// Bytes per element, or 0 for a data type this reader does not convert.
std::size_t element_size(int data_type);
// "FLOAT", "INT64", ... ("type 8" for others).
std::string data_type_name(int data_type);

struct Initializer {
  std::string name;
  int data_type = 0;
  std::vector<std::int64_t> dims;
  std::vector<std::uint8_t> bytes;  // little-endian elements, dims' product * element_size
};

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;
  std::vector<std::string> inputs;  // "" for an optional input left out
  std::vector<std::string> outputs;
};

struct Model {
  std::int64_t ir_version = 0;
  std::string producer_name, producer_version;
  std::int64_t opset = 0;  // the default ("" or "ai.onnx") domain's version
  std::vector<Initializer> initializers;  // in the file's order, names unique
  std::vector<Node> nodes;
  std::vector<std::string> graph_inputs, graph_outputs;
};

// Parses a whole model held in memory. `model_dir` is where tensors with external data are looked
// for (their `location` must be a relative path inside it); empty refuses external data.
Model parse_model(std::string_view source, const std::uint8_t* data, std::size_t size,
                  const std::string& model_dir = "");

// Reads and parses a model file (external data beside it).
Model read_model(const std::string& path);

}  // namespace lidere::onnx
