// The ONNX model reader (torch-free): every input parses into initializers whose bytes match their
// dims and data type, or is refused with an InputError naming the input. Seeds: models written
// field by field (tests/core/onnx_writer.h) and, from the command line, small DINOv2 models
// exported by PyTorch (tests/fuzz/make_onnx_seeds.py).
#include <stdexcept>

#include "core/errors.h"
#include "core/onnx_format.h"
#include "core/onnx_writer.h"
#include "fuzz/fuzz_target.h"

namespace ow = lidere::testing::onnx_writer;

namespace lidere::fuzz {

std::vector<Bytes> fuzz_seeds() {
  ow::Bytes int64s, packed_floats, external;
  for (const std::int64_t v : {-3, 7}) ow::varint_field(int64s, 7, static_cast<std::uint64_t>(v));
  ow::bytes_field(packed_floats, 4, ow::raw(std::vector<float>{0.5f, -1.f, 2.f, 3.f}));
  ow::Bytes entry;
  ow::string_field(entry, 1, "location");
  ow::string_field(entry, 2, "weights.bin");
  ow::bytes_field(external, 13, entry);
  ow::varint_field(external, 14, 1);
  const auto exported_like = ow::model(
      {ow::raw_tensor("backbone.embeddings.cls_token", {1, 1, 2}, {1.f, 2.f}),
       ow::raw_tensor("onnx::MatMul_12", {2, 2}, {1.f, 2.f, 3.f, 4.f}), ow::tensor("onnx::Mul_7", 7, {2}, int64s),
       ow::tensor("floats", 1, {2, 2}, packed_floats)},
      {ow::node("/backbone/encoder/layer.0/attention/q_proj/MatMul", "MatMul", {"x", "onnx::MatMul_12"}, {"y"}),
       ow::node("Identity_3", "Identity", {"floats"}, {"backbone.encoder.layer.0.norm1.weight"})});
  const auto with_external = ow::model({ow::tensor("w", 1, {2, 2}, external)}, {});
  return {exported_like, with_external};
}

void fuzz_one(const std::uint8_t* data, std::size_t size) {
  try {
    const onnx::Model model = onnx::parse_model("fuzz", data, size);
    for (const auto& init : model.initializers) {
      std::uint64_t count = 1;
      for (const auto d : init.dims) count *= static_cast<std::uint64_t>(d);
      if (init.bytes.size() != count * onnx::element_size(init.data_type)) {
        throw std::logic_error("accepted tensor " + init.name + " whose bytes do not match its dims");
      }
    }
  } catch (const InputError& e) {
    expect_names(e.what(), "fuzz");
  }
}

}  // namespace lidere::fuzz
