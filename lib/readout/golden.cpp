#include "readout/golden.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/tensor_file.h"
#include "readout/lidere_model.h"
#include "readout/weights.h"

namespace lidere::readout {
namespace {

constexpr double kFloat64Tolerance = 1e-9;
constexpr double kFloat32Tolerance = 1e-4;
// Float32 gradients that float32 cannot resolve may err by this multiple of the golden's own
// float32-vs-float64 error (README "Tolerances").
constexpr double kFloat32ErrorFactor = 5.0;

nlohmann::json meta_json(const TensorFile& file, const std::string& key) {
  try {
    return nlohmann::json::parse(file.meta(key));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("{}: metadata '{}' is not valid JSON ({})", file.source, key, e.what()));
  }
}

std::int64_t meta_int(const TensorFile& file, const std::string& key) {
  const auto value = meta_json(file, key);
  if (!value.is_number_integer()) throw InputError(fmt::format("{}: metadata '{}' is not an integer", file.source, key));
  return value.get<std::int64_t>();
}

GridSize meta_grid(const TensorFile& file, const std::string& key) {
  const auto value = meta_json(file, key);
  if (!value.is_array() || value.size() != 2 || !value[0].is_number_integer() || !value[1].is_number_integer()) {
    throw InputError(fmt::format("{}: metadata '{}' must be [rows, cols]", file.source, key));
  }
  return {value[0].get<std::int64_t>(), value[1].get<std::int64_t>()};
}

bool is_weight(const std::string& name) {
  for (const char* prefix : {"input.", "output.", "debug.", "grad."}) {
    if (name.rfind(prefix, 0) == 0) return false;
  }
  return true;
}

// Architecture details not in the metadata, read off the weights' shapes. `prefix` is "" or
// "heads.<name>." for multi-head files.
void infer_from_weights(const TensorFile& file, const std::string& prefix, ReadoutConfig& config) {
  config.heads = file.at(prefix + "layers.1.implicit_net.net.4.weight").size(0);
  config.prior_hidden = file.at(prefix + "layers.1.implicit_net.net.0.weight").size(0);
  config.key_dim = file.at(prefix + "layers.1.proj_k.weight").size(0) / config.heads;
  config.value_factor = file.at(prefix + "layers.1.proj_v.weight").size(0) / config.dim;
  config.queries = file.at(prefix + "layers.1.proj_q.weight").size(1) == config.dim ? QueryMode::kZeroMap
                                                                                   : QueryMode::kPositional;
  config.upsample.clear();
  for (int index = 2;; index += 4) {
    const std::string name = fmt::format("{}mlp.out_mlp.{}.weight", prefix, index);
    if (!file.contains(name)) break;
    config.upsample.push_back(file.at(name).size(-1));
  }
  if (config.upsample.empty()) throw InputError(fmt::format("{}: no CNN upsampler stages found", file.source));
}

double max_abs(const torch::Tensor& t) { return t.numel() ? t.abs().max().item<double>() : 0.0; }

struct Comparer {
  const TensorFile& file;
  bool is_float64;
  std::set<std::string> zero_gradients;
  std::map<std::string, double> f32_errors;
  double largest_gradient = 0;
  GoldenReport& report;

  double tolerance_for(const std::string& name) const {
    if (is_float64) return kFloat64Tolerance;
    const auto it = f32_errors.find(name);
    return std::max(kFloat32Tolerance, it == f32_errors.end() ? 0.0 : kFloat32ErrorFactor * it->second);
  }

  void compare(const std::string& name, const torch::Tensor& ours_in) {
    const torch::Tensor golden = file.at(name).to(torch::kFloat64);
    torch::Tensor ours = ours_in.defined() ? ours_in.detach().to(torch::kFloat64) : torch::zeros_like(golden);
    if (ours.sizes() != golden.sizes()) {
      throw Error(ExitCode::kCheckFailed, fmt::format("{}: {} has shape ({}) here but ({}) in the file", file.source,
                                                      name, fmt::join(ours.sizes(), ", "), fmt::join(golden.sizes(), ", ")));
    }
    TensorCheck check;
    check.name = name;
    check.tolerance = tolerance_for(name);
    if (zero_gradients.count(name)) {
      // Zero in exact arithmetic: the stored values are rounding noise, so only check that ours
      // is as small, relative to the largest gradient in the file.
      check.kind = "zero";
      check.error = max_abs(ours) / largest_gradient;
    } else {
      check.kind = "relative";
      const double scale = max_abs(golden);
      check.error = max_abs(ours - golden) / (scale > 0 ? scale : 1.0);
    }
    report.checks.push_back(check);
  }
};

}  // namespace

bool GoldenReport::passed() const {
  return !checks.empty() && std::all_of(checks.begin(), checks.end(), [](const auto& c) { return c.passed(); });
}

const TensorCheck* GoldenReport::worst() const {
  const TensorCheck* worst = nullptr;
  for (const auto& c : checks) {
    if (!worst || c.error / c.tolerance > worst->error / worst->tolerance) worst = &c;
  }
  return worst;
}

GoldenReport check_golden_file(const std::string& path) {
  const auto start = std::chrono::steady_clock::now();
  const TensorFile file = load_safetensors(path);
  if (file.meta("format") != "lidere-golden-v1") {
    throw InputError(fmt::format("{}: format '{}' is not lidere-golden-v1", path, file.meta("format")));
  }
  GoldenReport report;
  report.file = path;
  report.model = file.meta("model");
  report.dtype = file.meta("dtype");
  if (report.dtype != "float64" && report.dtype != "float32") {
    throw InputError(fmt::format("{}: dtype '{}' is neither float64 nor float32", path, report.dtype));
  }
  const auto dtype = report.dtype == "float64" ? torch::kFloat64 : torch::kFloat32;

  ReadoutConfig base;
  base.dim = meta_int(file, "dim");
  base.feature_channels = meta_int(file, "feat_dim");
  base.feature_grid = meta_grid(file, "feat_grid");
  base.base_grid = meta_grid(file, "base_size");

  // Build the model the file describes.
  std::shared_ptr<torch::nn::Module> model;
  std::function<std::map<std::string, torch::Tensor>(const torch::Tensor&)> run;
  std::vector<std::pair<std::string, LiDeRe>> heads;  // (debug suffix, head)
  if (report.model == "LiDeRe") {
    infer_from_weights(file, "", base);
    base.classes = meta_int(file, "n_classes");
    base.out_bias = meta_json(file, "out_bias").get<double>();
    LiDeRe lidere(base);
    lidere->to_device(torch::kCPU, dtype);
    const std::string key = file.meta("key_name");
    run = [lidere, key](const torch::Tensor& f) mutable { return std::map<std::string, torch::Tensor>{{key, lidere->forward(f)}}; };
    heads.emplace_back("", lidere);
    model = lidere.ptr();
  } else if (report.model == "LiDeReMulti") {
    MultiHeadConfig config;
    config.base = base;
    for (const auto& item : meta_json(file, "key_names")) {
      config.outputs.emplace_back(item.at(0).get<std::string>(), item.at(1).get<std::int64_t>());
    }
    if (config.outputs.empty()) throw InputError(fmt::format("{}: key_names is empty", path));
    infer_from_weights(file, "heads." + config.outputs.front().first + ".", config.base);
    config.out_bias = meta_json(file, "out_bias").get<std::vector<double>>();
    if (file.metadata.count("embed_proj")) {
      const auto embed = meta_json(file, "embed_proj");
      config.embed_in = embed.at(0).get<std::int64_t>();
      config.embed_out = embed.at(1).get<std::int64_t>();
    }
    LiDeReMulti multi(config);
    multi->to_device(torch::kCPU, dtype);
    run = [multi](const torch::Tensor& f) mutable { return multi->forward(f); };
    for (const auto& [name, channels] : config.outputs) heads.emplace_back("." + name, multi->head(name));
    model = multi.ptr();
  } else {
    throw InputError(fmt::format("{}: unknown model '{}'", path, report.model));
  }

  TensorFile weights;
  weights.source = path;
  for (const auto& [name, t] : file.tensors) {
    if (is_weight(name)) weights.tensors.emplace(name, t);
  }
  load_readout_weights(*model, weights, /*strict=*/true);

  // Forward and backward on the stored input and loss: sum over outputs of (output * R).
  const torch::Tensor features = file.at("input.feats").to(dtype);
  const auto outputs = run(features);
  torch::Tensor loss = torch::zeros({}, torch::TensorOptions().dtype(dtype));
  for (const auto& [name, out] : outputs) {
    const std::string r_name = report.model == "LiDeRe" ? "input.R" : "input.R." + name;
    loss = loss + (out * file.at(r_name).to(dtype)).sum();
  }
  loss.backward();

  Comparer comparer{file, dtype == torch::kFloat64, {}, {}, 0.0, report};
  for (const auto& name : meta_json(file, "zero_gradients")) comparer.zero_gradients.insert(name.get<std::string>());
  if (!comparer.is_float64 && file.metadata.count("f32_rel_error_vs_f64")) {
    comparer.f32_errors = meta_json(file, "f32_rel_error_vs_f64").get<std::map<std::string, double>>();
  }
  for (const auto& [name, t] : file.tensors) {
    if (name.rfind("grad.", 0) == 0) comparer.largest_gradient = std::max(comparer.largest_gradient, max_abs(t));
  }

  for (const auto& [name, out] : outputs) comparer.compare("output." + name, out);
  const auto ours = state_dict(*model);
  for (const auto& [name, t] : file.tensors) {
    if (name.rfind("grad.", 0) != 0) continue;
    const std::string param = name.substr(5);
    const auto it = ours.find(param);
    if (it == ours.end()) throw InputError(fmt::format("{}: gradient of unknown parameter '{}'", path, param));
    comparer.compare(name, it->second.grad());
  }

  // Prior and attention weights (batch element 0) at the stored target columns.
  torch::NoGradGuard no_grad;
  const torch::Tensor columns = file.at("debug.t_index").to(torch::kLong);
  for (auto& [suffix, head] : heads) {
    auto layer = head->interpolation();
    comparer.compare("debug.prior" + suffix, layer->prior().index_select(2, columns));
    const torch::Tensor first = head->project(features.narrow(0, 0, 1));
    comparer.compare("debug.att" + suffix, layer->attention_weights(first)[0].index_select(2, columns));
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace lidere::readout
