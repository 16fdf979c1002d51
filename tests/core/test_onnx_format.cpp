// The ONNX reader on models written field by field (tests/core/onnx_writer.h): every way of storing
// a tensor's values, external data, the graph's nodes, and the refusals of damaged files.
#include <fstream>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/errors.h"
#include "core/onnx_format.h"
#include "core/tensor_file.h"
#include "core/onnx_writer.h"
#include "test_common.h"

namespace {

namespace ow = lidere::testing::onnx_writer;
namespace fs = std::filesystem;

std::string write(const fs::path& path, const ow::Bytes& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                              static_cast<std::streamsize>(bytes.size()));
  return path.string();
}

std::string refusal(const ow::Bytes& bytes) {
  return lidere::testing::thrown_message<lidere::InputError>(
      [&] { lidere::onnx::parse_model("bad.onnx", bytes.data(), bytes.size()); });
}

}  // namespace

CATCH_TEST_CASE("ONNX initializers read in every storage of the format, nodes by name", "[unit]") {
  ow::Bytes packed_floats, int64s, halves, doubles, uint64s;
  ow::bytes_field(packed_floats, 4, ow::raw(std::vector<float>{0.5f, -1.f, 2.f, 3.f}));
  for (const std::int64_t v : {-3, 7}) ow::varint_field(int64s, 7, static_cast<std::uint64_t>(v));  // unpacked
  for (const std::uint16_t bits : {0x3c00, 0xc000}) ow::varint_field(halves, 5, bits);           // 1.0, -2.0
  ow::bytes_field(doubles, 10, ow::raw(std::vector<double>{1e300}));
  ow::Bytes packed_u64;
  ow::varint(packed_u64, 5);
  ow::varint(packed_u64, std::uint64_t{1} << 40);
  ow::bytes_field(uint64s, 11, packed_u64);
  const ow::Bytes model = ow::model(
      {ow::raw_tensor("backbone.cls", {1, 1, 2}, {1.f, 2.f}), ow::tensor("floats", 1, {2, 2}, packed_floats),
       ow::tensor("onnx::Mul_7", 7, {2}, int64s), ow::tensor("half", 10, {2}, halves),
       ow::tensor("scalar", 11, {}, doubles), ow::tensor("u64", 13, {2}, uint64s), ow::tensor("empty", 1, {0, 3}, {})},
      {ow::node("/backbone/Mul", "Mul", {"x", "onnx::Mul_7"}, {"y"}),
       ow::node("/backbone/Add", "Add", {"y", "onnx::Mul_7"}, {"z"})});
  const auto dir = lidere::testing::scratch_dir("onnx_read");
  const std::string path = write(dir / "model.onnx", model);
  const lidere::TensorFile file = lidere::load_tensor_file(path);
  CATCH_CHECK(file.metadata.at("format") == "onnx");
  CATCH_CHECK(file.metadata.at("onnx.producer") == "lidere-test 1");
  CATCH_CHECK(file.metadata.at("onnx.opset") == "14");
  CATCH_CHECK(torch::equal(file.at("backbone.cls"), torch::tensor({1.f, 2.f}).view({1, 1, 2})));
  CATCH_CHECK(torch::equal(file.at("floats"), torch::tensor({0.5f, -1.f, 2.f, 3.f}).view({2, 2})));
  CATCH_CHECK(torch::equal(file.at("onnx::Mul_7"), torch::tensor({-3, 7}, torch::kInt64)));
  CATCH_CHECK(torch::equal(file.at("half").to(torch::kFloat), torch::tensor({1.f, -2.f})));
  CATCH_CHECK(file.at("scalar").dim() == 0);
  CATCH_CHECK(file.at("scalar").item<double>() == 1e300);
  CATCH_CHECK(file.at("u64").to(torch::kInt64)[1].item<std::int64_t>() == std::int64_t{1} << 40);
  CATCH_CHECK(file.at("empty").sizes() == torch::IntArrayRef({0, 3}));
  const auto& readers = file.consumers.at("onnx::Mul_7");
  CATCH_REQUIRE(readers.size() == 2);
  CATCH_CHECK((readers[0].op_type == "Mul" && readers[0].node == "/backbone/Mul" && readers[0].input == 1 &&
               readers[0].output == "y"));
  CATCH_CHECK((readers[1].op_type == "Add" && readers[1].node == "/backbone/Add" && readers[1].input == 1 &&
               readers[1].output == "z"));
  CATCH_CHECK(file.consumers.count("floats") == 0);  // no node reads it
  const lidere::onnx::Model parsed = lidere::onnx::read_model(path);
  CATCH_REQUIRE(parsed.nodes.size() == 2);
  CATCH_CHECK(parsed.nodes[0].op_type == "Mul");
  CATCH_CHECK(parsed.nodes[0].inputs == std::vector<std::string>{"x", "onnx::Mul_7"});
  CATCH_CHECK(parsed.graph_inputs == std::vector<std::string>{"pixel_values"});
  CATCH_CHECK(parsed.ir_version == 7);
}

CATCH_TEST_CASE("ONNX external data is read from the model's folder and nowhere else", "[unit]") {
  const auto dir = lidere::testing::scratch_dir("onnx_external");
  write(dir / "weights.bin", ow::raw(std::vector<float>{9.f, 1.f, 2.f, 3.f, 4.f}));
  const auto external = [](const std::string& location, const std::string& offset, const std::string& length) {
    ow::Bytes body;
    for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
             {"location", location}, {"offset", offset}, {"length", length}}) {
      ow::Bytes entry;
      ow::string_field(entry, 1, k);
      ow::string_field(entry, 2, v);
      ow::bytes_field(body, 13, entry);
    }
    ow::varint_field(body, 14, 1);
    return ow::model({ow::tensor("w", 1, {2, 2}, body)}, {});
  };
  const std::string good = write(dir / "good.onnx", external("weights.bin", "4", "16"));
  CATCH_CHECK(torch::equal(lidere::load_tensor_file(good).at("w"), torch::tensor({1.f, 2.f, 3.f, 4.f}).view({2, 2})));
  using lidere::testing::thrown_message;
  const auto refused = [&](const char* name, const ow::Bytes& bytes) {
    const std::string path = write(dir / name, bytes);
    return thrown_message<lidere::InputError>([&] { lidere::load_tensor_file(path); });
  };
  CATCH_CHECK_THAT(refused("escape.onnx", external("../weights.bin", "0", "16")),
                   Catch::Contains("escape.onnx") && Catch::Contains("not a file inside the model's folder"));
  CATCH_CHECK_THAT(refused("absolute.onnx", external("/etc/passwd", "0", "16")),
                   Catch::Contains("not a file inside the model's folder"));
  CATCH_CHECK_THAT(refused("short.onnx", external("weights.bin", "8", "16")),
                   Catch::Contains("short.onnx") && Catch::Contains("tensor 'w' needs bytes 8..24"));
  CATCH_CHECK_THAT(refused("length.onnx", external("weights.bin", "0", "12")),
                   Catch::Contains("external length 12 for 16 bytes"));
  CATCH_CHECK_THAT(refused("missing.onnx", external("nowhere.bin", "0", "16")),
                   Catch::Contains("missing.onnx") && Catch::Contains("nowhere.bin"));
  CATCH_CHECK_THAT(refusal(external("weights.bin", "0", "16")), Catch::Contains("external data, which is not read here"));
}

CATCH_TEST_CASE("damaged ONNX files are refused naming the file, the tensor and the place", "[unit]") {
  const ow::Bytes good = ow::model({ow::raw_tensor("a.weight", {2}, {1.f, 2.f})}, {});
  CATCH_CHECK_NOTHROW(lidere::onnx::parse_model("good.onnx", good.data(), good.size()));
  // Truncated anywhere: a length or varint runs past the end.
  for (const std::size_t keep : {std::size_t{1}, good.size() / 2, good.size() - 1}) {
    CATCH_INFO(keep);
    const ow::Bytes cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(keep));
    CATCH_CHECK_THAT(refusal(cut), Catch::Contains("bad.onnx") && Catch::Contains("not a readable ONNX model") &&
                                       Catch::Contains("at byte"));
  }
  CATCH_CHECK_THAT(refusal(ow::model({ow::raw_tensor("a.weight", {3}, {1.f, 2.f})}, {})),
                   Catch::Contains("tensor 'a.weight' has 8 bytes in raw_data for 3 elements of FLOAT"));
  CATCH_CHECK_THAT(refusal(ow::model({ow::raw_tensor("a", {1}, {1.f}), ow::raw_tensor("a", {1}, {2.f})}, {})),
                   Catch::Contains("two initializers are named 'a'"));
  CATCH_CHECK_THAT(refusal(ow::model({ow::tensor("s", 8, {1}, {})}, {})),
                   Catch::Contains("tensor 's' has data type STRING, which this reader does not convert"));
  CATCH_CHECK_THAT(refusal(ow::model({ow::raw_tensor("big", {1 << 30, 1 << 30, 1 << 30}, {1.f})}, {})),
                   Catch::Contains("tensor 'big' has dims whose element count overflows"));
  ow::Bytes wrong_wire;  // a name stored as a varint
  ow::varint_field(wrong_wire, 8, 5);
  CATCH_CHECK_THAT(refusal(ow::model({ow::tensor("", 1, {1}, wrong_wire)}, {})),
                   Catch::Contains("field 'name' has wire type 0, not 2"));
  ow::Bytes eleven_bytes(11, 0xff);  // a varint that never ends
  CATCH_CHECK_THAT(refusal(eleven_bytes), Catch::Contains("longer than 10 bytes"));
  ow::Bytes no_graph;
  ow::varint_field(no_graph, 1, 7);
  CATCH_CHECK_THAT(refusal(no_graph), Catch::Contains("not an ONNX model (no graph)"));
  const std::string text = "PK\x03\x04 a zip file, not a model";
  CATCH_CHECK_THAT(refusal(ow::Bytes(text.begin(), text.end())), Catch::Contains("not a readable ONNX model"));
}
