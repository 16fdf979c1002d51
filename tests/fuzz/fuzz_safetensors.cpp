// The safetensors header parser (torch-free): every input parses into a layout whose offsets lie
// inside the file, or is refused with an InputError.
#include <stdexcept>

#include "core/errors.h"
#include "core/safetensors_format.h"
#include "fuzz/fuzz_target.h"

namespace st = lidere::safetensors;

namespace lidere::fuzz {

std::vector<Bytes> fuzz_seeds() {
  const std::vector<double> a = {1, 2, 3, 4, 5, 6};
  const std::vector<float> b = {1, 2};
  const std::vector<unsigned char> c = {1, 0, 1};
  const auto file = st::serialize({{"a", st::DType::kF64, {2, 3}, a.data(), a.size() * 8},
                                   {"b", st::DType::kF32, {2}, b.data(), 8},
                                   {"c", st::DType::kBool, {3}, c.data(), 3}},
                                  {{"format", "test"}});
  return {Bytes(file.begin(), file.end())};
}

void fuzz_one(const std::uint8_t* data, std::size_t size) {
  try {
    const st::Layout layout = st::parse_layout("fuzz", data, size, size);
    for (const auto& t : layout.tensors) {
      if (layout.data_start + t.end > size) throw std::logic_error("accepted an out-of-range tensor " + t.name);
    }
  } catch (const InputError& e) {
    expect_names(e.what(), "fuzz");
  }
}

}  // namespace lidere::fuzz
