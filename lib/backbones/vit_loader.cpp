#include "backbones/vit_loader.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/state_dict.h"

namespace lidere::backbones {
namespace {

namespace fs = std::filesystem;

bool has(const TensorFile& f, const std::string& key) { return f.contains(key); }

std::string first_keys(const TensorFile& file) {
  std::vector<std::string> keys;
  for (const auto& [name, t] : file.tensors) {
    if (keys.size() == 4) break;
    keys.push_back(name);
  }
  return keys.empty() ? "no tensors" : fmt::format("{}", fmt::join(keys, ", "));
}

// Rewrites names by ordered regex rules; a rule with an empty replacement drops the tensor.
struct Rule {
  std::regex pattern;
  std::string replacement;
};

TensorFile apply_rules(const TensorFile& file, const std::vector<Rule>& rules) {
  TensorFile out;
  out.source = file.source;
  out.metadata = file.metadata;
  for (const auto& [name, tensor] : file.tensors) {
    std::string mapped = name;
    bool dropped = false;
    for (const auto& rule : rules) {
      if (!std::regex_search(mapped, rule.pattern)) continue;
      if (rule.replacement.empty()) {
        dropped = true;
        break;
      }
      mapped = std::regex_replace(mapped, rule.pattern, rule.replacement);
    }
    if (!dropped) out.tensors[mapped] = tensor;
  }
  return out;
}

// Splits "<prefix>.<fused>" along dim 0 into the named parts (fused q/k/v, stacked gate/up).
void split_rows(TensorFile& file, const std::string& fused, const std::vector<std::string>& parts) {
  const torch::Tensor t = file.tensors.at(fused);
  if (t.size(0) % static_cast<std::int64_t>(parts.size()) != 0) {
    throw InputError(fmt::format("{}: '{}' has {} rows, not divisible into {} parts", file.source, fused, t.size(0),
                                 parts.size()));
  }
  const auto chunks = t.chunk(static_cast<std::int64_t>(parts.size()), 0);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (!parts[i].empty()) file.tensors[parts[i]] = chunks[i].contiguous();
  }
  file.tensors.erase(fused);
}

nlohmann::json read_config(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw InputError(fmt::format("{}: cannot open", path.string()));
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("{}: not valid JSON ({})", path.string(), e.what()));
  }
}

template <typename T>
T config_value(const nlohmann::json& config, const char* key, T fallback, const std::string& source) {
  if (config.is_null() || !config.contains(key) || config[key].is_null()) return fallback;
  try {
    return config[key].get<T>();
  } catch (const nlohmann::json::exception&) {
    throw InputError(fmt::format("{}: field '{}' has the wrong type", source, key));
  }
}

VitConfig infer_config(const TensorFile& weights, VitLayout layout, const nlohmann::json& config,
                       const std::string& config_source) {
  auto shape_of = [&](const std::string& key) -> torch::IntArrayRef {
    const auto it = weights.tensors.find(key);
    if (it == weights.tensors.end()) {
      throw InputError(fmt::format("{}: missing tensor '{}' (after mapping the {} layout)", weights.source, key,
                                   layout == VitLayout::kHfDinov2 ? "DINOv2" : "DINOv3"));
    }
    return it->second.sizes();
  };
  VitConfig c;
  c.family = layout == VitLayout::kHfDinov2 ? VitFamily::kDinov2 : VitFamily::kDinov3;
  c.hidden = shape_of("embeddings.cls_token").back();
  c.patch = shape_of("embeddings.patch_embeddings.weight").back();
  c.registers = has(weights, "embeddings.register_tokens") ? shape_of("embeddings.register_tokens")[1] : 0;
  c.depth = 0;
  const std::regex layer_index(R"(^layer\.(\d+)\.)");
  for (const auto& [name, t] : weights.tensors) {
    std::smatch m;
    if (std::regex_search(name, m, layer_index)) c.depth = std::max<std::int64_t>(c.depth, std::stoll(m[1]) + 1);
  }
  if (c.depth == 0) throw InputError(fmt::format("{}: no transformer blocks found", weights.source));
  c.intermediate = shape_of("layer.0.mlp.up_proj.weight")[0];
  c.gated_mlp = has(weights, "layer.0.mlp.gate_proj.weight");
  c.query_bias = has(weights, "layer.0.attention.q_proj.bias");
  c.key_bias = has(weights, "layer.0.attention.k_proj.bias");
  c.value_bias = has(weights, "layer.0.attention.v_proj.bias");
  c.proj_bias = has(weights, "layer.0.attention.o_proj.bias");
  c.mlp_bias = has(weights, "layer.0.mlp.up_proj.bias");
  // Published DINOv2/v3 models all use 64-dimensional heads; config.json overrides.
  c.heads = config_value<std::int64_t>(config, "num_attention_heads", c.hidden / 64, config_source);
  if (c.family == VitFamily::kDinov2) {
    c.layer_norm_eps = config_value(config, "layer_norm_eps", 1e-6, config_source);
    c.activation = c.gated_mlp ? Activation::kSilu : Activation::kGelu;  // HF's SwiGLU is always SiLU
    const auto positions = shape_of("embeddings.position_embeddings")[1] - 1;
    c.position_grid = static_cast<std::int64_t>(std::lround(std::sqrt(static_cast<double>(positions))));
    if (c.position_grid * c.position_grid != positions) {
      throw InputError(fmt::format("{}: {} position embeddings do not form a square grid", weights.source, positions));
    }
    // Hugging Face resizes them with antialiasing in Dinov2WithRegistersModel only.
    const auto model_type = config_value<std::string>(config, "model_type", "", config_source);
    c.position_antialias = model_type.empty() ? c.registers > 0 : model_type == "dinov2_with_registers";
  } else {
    c.layer_norm_eps = config_value(config, "layer_norm_eps", 1e-5, config_source);
    c.rope_theta = config_value(config, "rope_theta", 100.0, config_source);
    const auto act = config_value<std::string>(config, "hidden_act", c.gated_mlp ? "silu" : "gelu", config_source);
    if (act != "gelu" && act != "silu") {
      throw InputError(fmt::format("{}: unsupported hidden_act '{}' (gelu, silu)", config_source, act));
    }
    c.activation = act == "gelu" ? Activation::kGelu : Activation::kSilu;
  }
  // config.json must agree with the weights: a mismatch means the two files do not belong together.
  const std::pair<const char*, std::int64_t> checks[] = {{"hidden_size", c.hidden},
                                                         {"num_hidden_layers", c.depth},
                                                         {"intermediate_size", c.intermediate},
                                                         {"patch_size", c.patch}};
  for (const auto& [key, value] : checks) {
    const auto stated = config_value<std::int64_t>(config, key, value, config_source);
    if (stated != value) {
      throw InputError(fmt::format("{} says {} = {}, but the weights in {} have {}", config_source, key, stated,
                                   weights.source, value));
    }
  }
  return c;
}

// "/backbone/encoder/layer.0/attention/attention/query/MatMul" -> "backbone.encoder.layer.0.attention.attention.query"
std::string module_path(const std::string& node) {
  std::string path = node.substr(0, node.rfind('/'));
  if (!path.empty() && path.front() == '/') path.erase(0, 1);
  std::replace(path.begin(), path.end(), '/', '.');
  return path;
}

// Weights of a model exported to ONNX from PyTorch, under the names of the state dict it came from.
// The TorchScript-based exporter keeps parameter names for most tensors but folds two kinds into
// anonymous constants ("onnx::MatMul_1966"): nn.Linear weights, stored transposed ([in, out]) as the
// second input of the layer's MatMul node, whose name gives the module ("/.../query/MatMul"); and
// the position embedding, which DINOv2's interpolation splits into the class part ([1, 1, D], fed to
// the embeddings' Concat) and the patch grid ([1, N, D]). Other anonymous constants are dropped.
TensorFile from_onnx_export(const TensorFile& file) {
  TensorFile out;
  out.source = file.source;
  std::vector<std::pair<std::string, torch::Tensor>> class_parts, grid_parts;  // by embeddings module
  for (const auto& [name, tensor] : file.tensors) {
    const bool anonymous = name.rfind("onnx::", 0) == 0 || name.find('.') == std::string::npos;
    static const std::vector<TensorConsumer> kNoReaders;
    const auto found = file.consumers.find(name);
    const std::vector<TensorConsumer>& readers = found == file.consumers.end() ? kNoReaders : found->second;
    // The exporter keeps one of several equal parameters (freshly initialised norms, zero biases)
    // and passes it through an Identity node for each of the others, named after that parameter.
    for (const TensorConsumer& c : readers) {
      if (c.op_type == "Identity" && c.output.find('.') != std::string::npos && c.output.rfind("onnx::", 0) != 0 &&
          !file.tensors.count(c.output)) {
        out.tensors[c.output] = tensor;
      }
    }
    if (!anonymous) {
      out.tensors[name] = tensor;
      continue;
    }
    if (readers.size() != 1) continue;
    const TensorConsumer& c = readers.front();
    const std::string module = module_path(c.node);
    const bool in_embeddings = module == "embeddings" || (module.size() > 11 && module.ends_with(".embeddings"));
    if (c.op_type == "MatMul" && c.input == 1 && tensor.dim() == 2 && c.node.ends_with("/MatMul") && !module.empty()) {
      const std::string weight = module + ".weight";
      if (file.tensors.count(weight) || out.tensors.count(weight)) {
        throw InputError(fmt::format("{}: two tensors would be '{}' (a named one and the MatMul input '{}')",
                                     file.source, weight, name));
      }
      out.tensors[weight] = tensor.t().contiguous();
    } else if (in_embeddings && tensor.dim() == 3 && tensor.size(0) == 1) {
      (tensor.size(1) == 1 ? class_parts : grid_parts).emplace_back(module, tensor);
    }
  }
  if (class_parts.size() > 1 || grid_parts.size() > 1) {
    throw InputError(fmt::format("{}: {} class and {} grid candidates for the position embedding among the "
                                 "anonymous constants of the embeddings; cannot tell which is which",
                                 file.source, class_parts.size(), grid_parts.size()));
  }
  if (class_parts.size() == 1 && grid_parts.size() == 1) {
    const auto& [module, cls] = class_parts.front();
    const torch::Tensor& grid = grid_parts.front().second;
    if (grid_parts.front().first != module || cls.size(2) != grid.size(2)) {
      throw InputError(fmt::format("{}: the position embedding's class part {} and grid {} do not belong together",
                                   file.source, fmt::join(cls.sizes(), "x"), fmt::join(grid.sizes(), "x")));
    }
    const std::string key = module + ".position_embeddings";
    if (!out.tensors.count(key)) out.tensors[key] = torch::cat({cls, grid}, 1).contiguous();
  }
  return out;
}

// A backbone saved inside a larger model ("backbone.embeddings...", beside "decoder...."): the
// prefix before the patch embedding is stripped and the tensors outside it are left out.
TensorFile strip_module_prefix(const TensorFile& file) {
  const std::regex patch_embedding(R"(^(.*\.)embeddings\.patch_embeddings\.(projection\.)?weight$)");
  std::vector<std::string> prefixes;
  for (const auto& [name, t] : file.tensors) {
    std::smatch m;
    if (std::regex_match(name, m, patch_embedding)) prefixes.push_back(m[1].str());
  }
  if (prefixes.empty() || file.contains("embeddings.patch_embeddings.projection.weight") ||
      file.contains("embeddings.patch_embeddings.weight")) {
    return file;
  }
  if (prefixes.size() > 1) {
    throw InputError(fmt::format("{}: holds {} vision transformers ({}); give a file with one",
                                 file.source, prefixes.size(), fmt::join(prefixes, ", ")));
  }
  TensorFile out;
  out.source = file.source;
  out.metadata = file.metadata;
  for (const auto& [name, t] : file.tensors) {
    if (name.rfind(prefixes.front(), 0) == 0) out.tensors[name.substr(prefixes.front().size())] = t;
  }
  return out;
}

}  // namespace

const char* layout_name(VitLayout layout) {
  switch (layout) {
    case VitLayout::kHfDinov3: return "Hugging Face DINOv3ViTModel layout";
    case VitLayout::kHfDinov2: return "Hugging Face Dinov2 layout";
    case VitLayout::kTimmDinov3: return "timm DINOv3 layout";
  }
  return "unknown layout";
}

VitLayout detect_vit_layout(const TensorFile& file) {
  if (has(file, "layer.0.attention.q_proj.weight") || has(file, "model.layer.0.attention.q_proj.weight")) {
    return VitLayout::kHfDinov3;
  }
  // transformers 5 names Dinov2's attention q_proj ... o_proj in memory (what an ONNX export shows)
  // and writes the legacy names into model.safetensors.
  if (has(file, "encoder.layer.0.attention.attention.query.weight") || has(file, "encoder.layer.0.attention.q_proj.weight")) {
    return VitLayout::kHfDinov2;
  }
  if (has(file, "blocks.0.attn.qkv.weight") && has(file, "cls_token")) {
    if (has(file, "pos_embed")) {
      throw InputError(fmt::format("{}: a timm ViT with learned position embeddings (e.g. timm DINOv2); only timm "
                                   "DINOv3 and the Hugging Face DINOv2 layout are supported",
                                   file.source));
    }
    return VitLayout::kTimmDinov3;
  }
  throw InputError(fmt::format("{}: not a DINOv2/DINOv3 ViT checkpoint: no known key layout matched ({}...)",
                               file.source, first_keys(file)));
}

TensorFile map_to_vit_names(const TensorFile& file, VitLayout layout) {
  std::vector<Rule> rules;
  auto rule = [&](const char* pattern, const char* replacement) { rules.push_back({std::regex(pattern), replacement}); };
  switch (layout) {
    case VitLayout::kHfDinov3:
      rule(R"(^embeddings\.mask_token$)", "");  // used only in pre-training
      rule(R"(^model\.layer\.)", "layer.");     // transformers 5's in-memory prefix
      break;
    case VitLayout::kHfDinov2:
      rule(R"(^embeddings\.mask_token$)", "");
      rule(R"(^embeddings\.patch_embeddings\.projection\.)", "embeddings.patch_embeddings.");
      rule(R"(^encoder\.layer\.)", "layer.");
      rule(R"(\.attention\.attention\.query\.)", ".attention.q_proj.");
      rule(R"(\.attention\.attention\.key\.)", ".attention.k_proj.");
      rule(R"(\.attention\.attention\.value\.)", ".attention.v_proj.");
      rule(R"(\.attention\.output\.dense\.)", ".attention.o_proj.");
      rule(R"(\.mlp\.fc1\.)", ".mlp.up_proj.");
      rule(R"(\.mlp\.fc2\.)", ".mlp.down_proj.");
      rule(R"(\.mlp\.weights_out\.)", ".mlp.down_proj.");
      rule(R"(^layernorm\.)", "norm.");
      break;
    case VitLayout::kTimmDinov3:
      rule(R"(^head\.)", "");  // a classifier head, if any, is not part of the backbone
      rule(R"(^rope\.)", "");
      rule(R"(^cls_token$)", "embeddings.cls_token");
      rule(R"(^reg_token$)", "embeddings.register_tokens");
      rule(R"(^patch_embed\.proj\.)", "embeddings.patch_embeddings.");
      rule(R"(^blocks\.)", "layer.");
      rule(R"(\.attn\.proj\.)", ".attention.o_proj.");
      rule(R"(\.attn\.q_bias$)", ".attention.q_proj.bias");
      rule(R"(\.attn\.v_bias$)", ".attention.v_proj.bias");
      rule(R"(\.attn\.k_bias$)", "");  // a zero buffer in timm
      rule(R"(\.gamma_1$)", ".layer_scale1.lambda1");
      rule(R"(\.gamma_2$)", ".layer_scale2.lambda1");
      rule(R"(\.mlp\.fc1_g\.)", ".mlp.gate_proj.");
      rule(R"(\.mlp\.fc1_x\.)", ".mlp.up_proj.");
      rule(R"(\.mlp\.fc1\.)", ".mlp.up_proj.");
      rule(R"(\.mlp\.fc2\.)", ".mlp.down_proj.");
      break;
  }
  TensorFile out = apply_rules(file, rules);
  // Fused and stacked tensors.
  std::vector<std::string> names;
  for (const auto& [name, t] : out.tensors) names.push_back(name);
  const std::regex weights_in(R"(^(layer\.\d+\.mlp)\.weights_in\.(weight|bias)$)");
  const std::regex qkv(R"(^(layer\.\d+)\.attn\.qkv\.(weight|bias)$)");
  for (const auto& name : names) {
    std::smatch m;
    if (std::regex_match(name, m, weights_in)) {
      split_rows(out, name, {m[1].str() + ".gate_proj." + m[2].str(), m[1].str() + ".up_proj." + m[2].str()});
    } else if (std::regex_match(name, m, qkv)) {
      const std::string prefix = m[1].str() + ".attention.", kind = m[2].str();
      // DINOv3 has no key bias; a fused bias holds a zero k part, which we drop.
      split_rows(out, name, {prefix + "q_proj." + kind, kind == "bias" ? "" : prefix + "k_proj." + kind,
                             prefix + "v_proj." + kind});
    }
  }
  return out;
}

LoadedVit load_vit(const std::string& path) {
  fs::path weights_path = path;
  if (fs::is_directory(weights_path)) {
    weights_path = weights_path / "model.safetensors";
    if (!fs::exists(weights_path)) throw InputError(fmt::format("{}: folder has no model.safetensors", path));
  } else if (!fs::exists(weights_path)) {
    throw InputError(fmt::format("{}: no such file or folder", path));
  }
  return load_vit(load_tensor_file(weights_path.string()), weights_path.string());
}

LoadedVit load_vit(const TensorFile& file, const std::string& weights_path) {
  const fs::path config_path = fs::path(weights_path).parent_path() / "config.json";
  const auto format = file.metadata.find("format");
  const TensorFile raw =
      strip_module_prefix(format != file.metadata.end() && format->second == "onnx" ? from_onnx_export(file) : file);
  const VitLayout layout = detect_vit_layout(raw);
  const TensorFile weights = map_to_vit_names(raw, layout);
  nlohmann::json config;
  if (fs::exists(config_path)) config = read_config(config_path);
  const VitConfig vit_config = infer_config(weights, layout, config, config_path.string());

  LoadedVit loaded{VisionTransformer(vit_config), layout, weights_path};
  load_state_dict(*loaded.model, weights, /*strict=*/true);
  loaded.model->eval();
  for (auto& p : loaded.model->parameters()) p.set_requires_grad(false);  // frozen backbone
  return loaded;
}

}  // namespace lidere::backbones
