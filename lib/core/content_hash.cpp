#include "core/content_hash.h"

#include <cstring>

#include <fmt/format.h>

namespace lidere {
namespace {

std::uint64_t rotl(std::uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

// splitmix64's finaliser: every input bit affects every output bit.
std::uint64_t avalanche(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

void ContentHash::update(const void* data, std::size_t size) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  // Two independent lanes over 8-byte words; the tail is zero-padded and the length mixed in.
  for (std::size_t i = 0; i < size; i += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, bytes + i, std::min<std::size_t>(8, size - i));
    a_ = rotl(a_ ^ (word * 0x9e3779b97f4a7c15ull), 31) * 0xc2b2ae3d27d4eb4full;
    b_ = rotl(b_ + (word ^ 0x165667b19e3779f9ull), 27) * 0x9fb21c651e98df25ull;
  }
  length_ += size;
  a_ ^= avalanche(length_);
}

void ContentHash::update(const torch::Tensor& tensor) {
  const torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
  update(std::string(c10::toString(t.scalar_type())));
  for (const auto d : t.sizes()) update(&d, sizeof d);
  if (t.nbytes()) update(t.data_ptr(), t.nbytes());
}

std::string ContentHash::hex() const {
  return fmt::format("{:016x}{:016x}", avalanche(a_ ^ b_), avalanche(b_ + length_));
}

}  // namespace lidere
