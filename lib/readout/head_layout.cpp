#include "readout/head_layout.h"

#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "core/errors.h"

namespace lidere::readout {

std::vector<std::string> HeadLayout::output_names() const {
  std::vector<std::string> names;
  for (const auto& h : heads) names.push_back(h.name);
  if (embedding) names.push_back(embedding->name);
  return names;
}

std::string HeadLayout::describe() const {
  std::vector<std::string> parts;
  for (const auto& h : heads) parts.push_back(fmt::format("{}({})", h.name, h.channels));
  std::string text = fmt::format("{}", fmt::join(parts, ", "));
  if (embedding) text += fmt::format(" -> {}({})", embedding->name, embedding->channels);
  return text;
}

void HeadLayout::validate() const {
  if (heads.empty()) throw UsageError("readout heads: at least one head is needed");
  std::set<std::string> names;
  for (const auto& h : heads) {
    if (h.name.empty()) throw UsageError("readout heads: a head has no name");
    if (h.channels < 1) throw UsageError(fmt::format("readout head '{}': channels must be positive", h.name));
    if (!names.insert(h.name).second) throw UsageError(fmt::format("readout heads: '{}' given twice", h.name));
  }
  if (!embedding) return;
  if (!names.count(embedding->source)) {
    throw UsageError(fmt::format("readout embedding '{}': its source '{}' is not a head", embedding->name,
                                 embedding->source));
  }
  if (embedding->name.empty() || names.count(embedding->name)) {
    throw UsageError(fmt::format("readout embedding: the name '{}' is empty or a head's", embedding->name));
  }
  if (embedding->channels < 1) throw UsageError("readout embedding: channels must be positive");
}

bool HeadLayout::same_outputs(const HeadLayout& other) const {
  if (heads.size() != other.heads.size() || embedding != other.embedding) return false;
  for (std::size_t i = 0; i < heads.size(); ++i) {
    if (heads[i].name != other.heads[i].name || heads[i].channels != other.heads[i].channels) return false;
  }
  return true;
}

nlohmann::json head_layout_to_json(const HeadLayout& layout) {
  nlohmann::json heads = nlohmann::json::array();
  for (const auto& h : layout.heads) heads.push_back({{"name", h.name}, {"channels", h.channels}, {"out_bias", h.out_bias}});
  nlohmann::json embedding = nullptr;
  if (layout.embedding) {
    embedding = {{"source", layout.embedding->source},
                 {"name", layout.embedding->name},
                 {"channels", layout.embedding->channels}};
  }
  return {{"heads", heads}, {"embedding", embedding}};
}

HeadLayout head_layout_from_json(const nlohmann::json& j) {
  HeadLayout layout;
  for (const auto& h : j.at("heads")) {
    layout.heads.push_back(
        {h.at("name").get<std::string>(), h.at("channels").get<std::int64_t>(), h.value("out_bias", 0.0)});
  }
  if (j.contains("embedding") && !j.at("embedding").is_null()) {
    const auto& e = j.at("embedding");
    layout.embedding = EmbeddingSpec{e.at("source").get<std::string>(), e.at("name").get<std::string>(),
                                     e.at("channels").get<std::int64_t>()};
  }
  layout.validate();
  return layout;
}

}  // namespace lidere::readout
