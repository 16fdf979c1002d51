// What a readout outputs: one or more named heads, each a full LiDeRe readout (or linear probe) with
// its own channel count and initial bias, and optionally an embedding map fed by one head (the
// official LiDeReMulti's embed_proj: CenterNet class embeddings -> class logits). A task says which
// layout it needs (tasks/task.h); one head builds the LiDeRe readout, several the multi-head one,
// and checkpoints record the layout so that a readout is only ever loaded into the layout it has.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace lidere::readout {

struct HeadSpec {
  std::string name;           // the output's name, e.g. "logits", "heatmap"
  std::int64_t channels = 1;  // output channels
  double out_bias = 0.0;      // initial bias of the head's last layers (e.g. -5 for sparse heatmaps)
  bool operator==(const HeadSpec&) const = default;
};

// An output computed per pixel by one linear map from the output of head `source`.
struct EmbeddingSpec {
  std::string source;         // head whose output feeds it
  std::string name;           // the output's name, e.g. "class_logits"
  std::int64_t channels = 0;  // output channels of the linear map
  bool operator==(const EmbeddingSpec&) const = default;
};

struct HeadLayout {
  std::vector<HeadSpec> heads;
  std::optional<EmbeddingSpec> embedding;

  // One head and no embedding: the plain LiDeRe readout (official LiDeRe parameter names).
  bool single() const { return heads.size() == 1 && !embedding; }
  // The names of everything the readout outputs, heads first.
  std::vector<std::string> output_names() const;
  // E.g. "heatmap(1), size(2), class_embeddings(4) -> class_logits(6)".
  std::string describe() const;
  // Throws UsageError for no heads, an empty or repeated name, channels < 1, or an embedding whose
  // source is not a head.
  void validate() const;
  // The same outputs: names, channels and embedding (initial biases aside, which only matter
  // before training).
  bool same_outputs(const HeadLayout& other) const;
  bool operator==(const HeadLayout&) const = default;
};

// {"heads": [{"name", "channels", "out_bias"}...], "embedding": {"source", "name", "channels"} | null}.
// from_json throws nlohmann::json::exception for a missing field and UsageError for an invalid layout.
nlohmann::json head_layout_to_json(const HeadLayout& layout);
HeadLayout head_layout_from_json(const nlohmann::json& json);

}  // namespace lidere::readout
