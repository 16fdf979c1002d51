// Defaults shared by the commands and the training configuration, defined once.
#pragma once

#include <cstdint>

namespace lidere::inference {

inline constexpr const char* kDefaultDevice = "cpu";
inline constexpr const char* kDefaultBackbone = "efficientnet-lite0";  // backbones/registry.h
inline constexpr std::int64_t kDefaultBatch = 8;    // images per forward pass
inline constexpr std::int64_t kDefaultWorkers = 2;  // batches decoded ahead

}  // namespace lidere::inference
