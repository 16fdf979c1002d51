#include <cstring>
#include <fstream>

#include <torch/torch.h>

#include "core/errors.h"
#include "core/safetensors_format.h"
#include "core/tensor_file.h"
#include "test_common.h"

namespace st = lidere::safetensors;
using lidere::InputError;

namespace {

std::string write_bytes(const std::string& name, const std::string& bytes) {
  const auto path = (lidere::testing::scratch_dir("safetensors") / name).string();
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

// A file with the given header JSON (padded) followed by `data_bytes` zero bytes.
std::string file_with_header(const std::string& json, std::size_t data_bytes) {
  std::string bytes(8, '\0');
  const std::uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return bytes + json + std::string(data_bytes, '\0');
}

// Loading `bytes` must throw an InputError whose message names the file and contains `problem`.
void expect_refused(const std::string& name, const std::string& bytes, const std::string& problem) {
  const std::string path = write_bytes(name, bytes);
  CATCH_REQUIRE_THAT(lidere::testing::thrown_message<lidere::InputError>([&] { lidere::load_safetensors(path); }),
                     Catch::Matchers::Contains(path) && Catch::Matchers::Contains(problem));
}

}  // namespace

CATCH_TEST_CASE("safetensors round trip keeps every dtype, shape, value and metadata", "[unit]") {
  std::map<std::string, torch::Tensor> tensors = {
      {"f64", torch::randn({2, 3}, torch::kFloat64)},
      {"f32", torch::randn({4}, torch::kFloat32)},
      {"f16", torch::randn({3, 1}, torch::kFloat32).to(torch::kFloat16)},
      {"bf16", torch::randn({5}, torch::kFloat32).to(torch::kBFloat16)},
      {"i64", torch::arange(7, torch::kInt64)},
      {"i32", torch::arange(3, torch::kInt32).view({1, 3})},
      {"u8", torch::arange(9, torch::kUInt8).view({3, 3})},
      {"bool", torch::tensor({true, false, true})},
      {"scalar", torch::tensor(3.5, torch::kFloat64)},
      {"empty", torch::zeros({0, 4}, torch::kFloat32)},
  };
  const auto path = (lidere::testing::scratch_dir("roundtrip") / "all.safetensors").string();
  lidere::save_safetensors(path, tensors, {{"note", "hello"}});
  const auto file = lidere::load_safetensors(path);
  CATCH_REQUIRE(file.tensors.size() == tensors.size());
  CATCH_REQUIRE(file.meta("note") == "hello");
  for (const auto& [name, t] : tensors) {
    CATCH_INFO(name);
    CATCH_REQUIRE(file.at(name).scalar_type() == t.scalar_type());
    CATCH_REQUIRE(file.at(name).sizes() == t.sizes());
    CATCH_REQUIRE(torch::equal(file.at(name), t));
  }
  // Aligned: every tensor starts at a multiple of its element size.
  for (const auto& entry : st::read_layout(path).tensors) {
    CATCH_REQUIRE(entry.begin % st::dtype_size(entry.dtype) == 0);
  }
  CATCH_REQUIRE_THROWS_AS(file.at("nope"), InputError);
}

CATCH_TEST_CASE("malformed safetensors files are refused with the file and the problem named", "[unit]") {
  const std::string ok_entry = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  expect_refused("empty.safetensors", "", "too short");
  expect_refused("short.safetensors", "abc", "too short");
  expect_refused("oversized.safetensors", std::string("\xff\xff\xff\xff\xff\x00\x00\x00", 8) + "{}", "exceeds the limit");
  expect_refused("truncated_header.safetensors", file_with_header(ok_entry, 8).substr(0, 20), "truncated");
  expect_refused("truncated_data.safetensors", file_with_header(ok_entry, 4), "outside the 4-byte data section");
  expect_refused("bad_json.safetensors", file_with_header(R"({"a": {"dtype": )", 0), "not valid JSON");
  expect_refused("not_object.safetensors", file_with_header("[1, 2]", 0), "not an object");
  expect_refused("unknown_dtype.safetensors",
                 file_with_header(R"({"a":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}})", 2),
                 "unsupported dtype 'F8_E4M3'");
  expect_refused("out_of_range.safetensors",
                 file_with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[100,108]}})", 8), "outside");
  expect_refused("overlap.safetensors",
                 file_with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                  R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                  12),
                 "overlap");
  expect_refused("size_mismatch.safetensors",
                 file_with_header(R"({"a":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}})", 8), "needs 16 bytes");
  expect_refused("reversed.safetensors",
                 file_with_header(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", 8), "end before begin");
  expect_refused("negative_shape.safetensors",
                 file_with_header(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8), "non-negative");
  expect_refused("huge_shape.safetensors",
                 file_with_header(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", 8),
                 "overflows");
  expect_refused("no_offsets.safetensors", file_with_header(R"({"a":{"dtype":"F32","shape":[2]}})", 8), "data_offsets");
  expect_refused("bad_metadata.safetensors", file_with_header(R"({"__metadata__":{"k":1}})", 0), "not a string");
  CATCH_REQUIRE_THAT(lidere::testing::thrown_message<lidere::InputError>([&] { lidere::load_safetensors("/nonexistent/x.safetensors"); }),
                     Catch::Matchers::Contains("/nonexistent/x.safetensors"));
}

CATCH_TEST_CASE("random bytes never crash the safetensors reader", "[unit]") {
  std::mt19937 rng(7);
  for (int i = 0; i < 300; ++i) {
    std::string bytes(rng() % 64, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng());
    const std::string path = write_bytes("random.safetensors", bytes);
    try {
      lidere::load_safetensors(path);
    } catch (const InputError& e) {
      CATCH_REQUIRE(std::string(e.what()).find(path) != std::string::npos);
    }
  }
}
