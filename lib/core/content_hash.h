// A fast 128-bit content hash (not cryptographic) for cache keys.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <torch/types.h>

namespace lidere {

class ContentHash {
 public:
  void update(const void* data, std::size_t size);
  void update(const std::string& text) { update(text.data(), text.size()); }
  // dtype, shape and the bytes of a tensor (copied to a contiguous CPU tensor if needed).
  void update(const torch::Tensor& tensor);
  std::string hex() const;  // 32 hex digits

 private:
  std::uint64_t a_ = 0x243f6a8885a308d3ull, b_ = 0x13198a2e03707344ull;
  std::uint64_t length_ = 0;
};

}  // namespace lidere
