#include "readout/config.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/errors.h"

namespace lidere::readout {

std::int64_t ReadoutConfig::upsample_factor() const {
  std::int64_t factor = 1;
  for (auto f : upsample) factor *= f;
  return factor;
}

std::int64_t ReadoutConfig::cnn_width() const { return std::max(dim / 4, classes / 2); }

void ReadoutConfig::validate() const {
  auto require = [](bool ok, const std::string& message) {
    if (!ok) throw UsageError("readout config: " + message);
  };
  require(feature_channels > 0, fmt::format("feature_channels must be positive, got {}", feature_channels));
  require(feature_grid.rows > 0 && feature_grid.cols > 0,
          fmt::format("feature_grid must be positive, got {}", feature_grid.str()));
  require(base_grid.rows > 0 && base_grid.cols > 0,
          fmt::format("base_grid must be positive, got {}", base_grid.str()));
  require(dim > 0 && heads > 0 && dim % heads == 0,
          fmt::format("dim ({}) must be a positive multiple of heads ({})", dim, heads));
  require(key_dim > 0, fmt::format("key_dim must be positive, got {}", key_dim));
  require(value_factor > 0, fmt::format("value_factor must be positive, got {}", value_factor));
  require(prior_hidden > 0, fmt::format("prior_hidden must be positive, got {}", prior_hidden));
  require(classes > 0, fmt::format("classes must be positive, got {}", classes));
  require(!upsample.empty() && std::all_of(upsample.begin(), upsample.end(), [](auto f) { return f > 0; }),
          "upsample needs at least one positive factor");
}

}  // namespace lidere::readout
