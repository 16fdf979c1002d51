#include "readout/config.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

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
  require(base_grid.rows > 0 && base_grid.cols > 0, fmt::format("base_grid must be positive, got {}", base_grid.str()));
  require(dim > 0 && heads > 0 && dim % heads == 0,
          fmt::format("dim ({}) must be a positive multiple of heads ({})", dim, heads));
  require(key_dim > 0, fmt::format("key_dim must be positive, got {}", key_dim));
  require(value_factor > 0, fmt::format("value_factor must be positive, got {}", value_factor));
  require(prior_hidden > 0, fmt::format("prior_hidden must be positive, got {}", prior_hidden));
  require(classes > 0, fmt::format("classes must be positive, got {}", classes));
  require(!upsample.empty() && std::all_of(upsample.begin(), upsample.end(), [](auto f) { return f > 0; }),
          "upsample needs at least one positive factor");
}

nlohmann::json readout_config_to_json(const ReadoutConfig& c) {
  return {{"feature_channels", c.feature_channels},
          {"feature_grid", {c.feature_grid.rows, c.feature_grid.cols}},
          {"base_grid", {c.base_grid.rows, c.base_grid.cols}},
          {"dim", c.dim},
          {"heads", c.heads},
          {"key_dim", c.key_dim},
          {"value_factor", c.value_factor},
          {"prior_hidden", c.prior_hidden},
          {"prior_distance_init", c.prior_distance_init},
          {"classes", c.classes},
          {"out_bias", c.out_bias},
          {"upsample", c.upsample},
          {"queries", c.queries == QueryMode::kZeroMap ? "zero_map" : "positional"}};
}

ReadoutConfig readout_config_from_json(const nlohmann::json& j) {
  ReadoutConfig c;
  c.feature_channels = j.at("feature_channels").get<std::int64_t>();
  c.feature_grid = {j.at("feature_grid").at(0).get<std::int64_t>(), j.at("feature_grid").at(1).get<std::int64_t>()};
  c.base_grid = {j.at("base_grid").at(0).get<std::int64_t>(), j.at("base_grid").at(1).get<std::int64_t>()};
  c.dim = j.at("dim").get<std::int64_t>();
  c.heads = j.at("heads").get<std::int64_t>();
  c.key_dim = j.at("key_dim").get<std::int64_t>();
  c.value_factor = j.at("value_factor").get<std::int64_t>();
  c.prior_hidden = j.at("prior_hidden").get<std::int64_t>();
  c.prior_distance_init = j.at("prior_distance_init").get<double>();
  c.classes = j.at("classes").get<std::int64_t>();
  c.out_bias = j.at("out_bias").get<double>();
  c.upsample = j.at("upsample").get<std::vector<std::int64_t>>();
  const auto queries = j.at("queries").get<std::string>();
  if (queries != "zero_map" && queries != "positional") throw UsageError("unknown query mode '" + queries + "'");
  c.queries = queries == "zero_map" ? QueryMode::kZeroMap : QueryMode::kPositional;
  c.validate();
  return c;
}

}  // namespace lidere::readout
