#include "core/tensor_file.h"

#include <bit>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

#include "core/errors.h"
#include "core/onnx_format.h"
#include "core/pth_reader.h"
#include "core/safetensors_format.h"

static_assert(std::endian::native == std::endian::little,
              "safetensors stores little-endian data; big-endian hosts need byte swapping");

namespace lidere {
namespace {

namespace st = safetensors;

torch::ScalarType to_torch(st::DType dtype) {
  switch (dtype) {
    case st::DType::kF64: return torch::kFloat64;
    case st::DType::kF32: return torch::kFloat32;
    case st::DType::kF16: return torch::kFloat16;
    case st::DType::kBF16: return torch::kBFloat16;
    case st::DType::kI64: return torch::kInt64;
    case st::DType::kI32: return torch::kInt32;
    case st::DType::kU8: return torch::kUInt8;
    case st::DType::kBool: return torch::kBool;
  }
  throw Error(ExitCode::kInternal, "unhandled safetensors dtype");
}

st::DType from_torch(torch::ScalarType type, const std::string& name) {
  switch (type) {
    case torch::kFloat64: return st::DType::kF64;
    case torch::kFloat32: return st::DType::kF32;
    case torch::kFloat16: return st::DType::kF16;
    case torch::kBFloat16: return st::DType::kBF16;
    case torch::kInt64: return st::DType::kI64;
    case torch::kInt32: return st::DType::kI32;
    case torch::kUInt8: return st::DType::kU8;
    case torch::kBool: return st::DType::kBool;
    default:
      throw InputError(fmt::format("tensor '{}': dtype {} cannot be stored in safetensors", name,
                                   c10::toString(type)));
  }
}

}  // namespace

const torch::Tensor& TensorFile::at(const std::string& name) const {
  const auto it = tensors.find(name);
  if (it == tensors.end()) throw InputError(fmt::format("{}: no tensor named '{}'", source, name));
  return it->second;
}

const std::string& TensorFile::meta(const std::string& key) const {
  const auto it = metadata.find(key);
  if (it == metadata.end()) {
    throw InputError(fmt::format("{}: metadata has no key '{}'", source, key));
  }
  return it->second;
}

TensorFile load_safetensors(const std::string& path) {
  const st::Layout layout = st::read_layout(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot open ({})", path, std::strerror(errno)));

  TensorFile file;
  file.source = path;
  file.metadata = layout.metadata;
  for (const auto& entry : layout.tensors) {
    torch::Tensor t = torch::empty(entry.shape, torch::TensorOptions().dtype(to_torch(entry.dtype)));
    const auto nbytes = static_cast<std::streamsize>(entry.end - entry.begin);
    in.seekg(static_cast<std::streamoff>(layout.data_start + entry.begin));
    in.read(static_cast<char*>(t.data_ptr()), nbytes);
    if (in.gcount() != nbytes) {
      throw InputError(fmt::format("{}: read error in tensor '{}'", path, entry.name));
    }
    file.tensors.emplace(entry.name, std::move(t));
  }
  return file;
}

void save_safetensors(const std::string& path, const std::map<std::string, torch::Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  std::vector<torch::Tensor> keep_alive;
  std::vector<st::TensorBytes> items;
  for (const auto& [name, tensor] : tensors) {
    torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
    keep_alive.push_back(t);
    st::TensorBytes item;
    item.name = name;
    item.dtype = from_torch(t.scalar_type(), name);
    item.shape = t.sizes().vec();
    item.data = t.data_ptr();
    item.nbytes = t.nbytes();
    items.push_back(std::move(item));
  }
  st::write_file_atomically(path, st::serialize(items, metadata));
}

TensorFile load_pth_state_dict(const std::string& path) {
  TensorFile file;
  file.source = path;
  file.tensors = read_pth_state_dict(path);
  return file;
}

namespace {

torch::ScalarType onnx_to_torch(int data_type) {
  switch (static_cast<onnx::DataType>(data_type)) {
    case onnx::DataType::kFloat: return torch::kFloat32;
    case onnx::DataType::kUInt8: return torch::kUInt8;
    case onnx::DataType::kInt8: return torch::kInt8;
    case onnx::DataType::kUInt16: return torch::kUInt16;
    case onnx::DataType::kInt16: return torch::kInt16;
    case onnx::DataType::kInt32: return torch::kInt32;
    case onnx::DataType::kInt64: return torch::kInt64;
    case onnx::DataType::kBool: return torch::kBool;
    case onnx::DataType::kFloat16: return torch::kFloat16;
    case onnx::DataType::kDouble: return torch::kFloat64;
    case onnx::DataType::kUInt32: return torch::kUInt32;
    case onnx::DataType::kUInt64: return torch::kUInt64;
    case onnx::DataType::kBFloat16: return torch::kBFloat16;
  }
  throw Error(ExitCode::kInternal, "unhandled ONNX data type");  // parse_model refuses the others
}

}  // namespace

TensorFile load_onnx_initializers(const std::string& path) {
  onnx::Model model = onnx::read_model(path);
  TensorFile file;
  file.source = path;
  file.metadata["format"] = "onnx";
  file.metadata["onnx.producer"] = model.producer_name + (model.producer_version.empty() ? "" : " " + model.producer_version);
  file.metadata["onnx.opset"] = std::to_string(model.opset);
  for (onnx::Initializer& init : model.initializers) {
    torch::Tensor t = torch::empty(init.dims, torch::TensorOptions().dtype(onnx_to_torch(init.data_type)));
    if (!init.bytes.empty()) std::memcpy(t.data_ptr(), init.bytes.data(), init.bytes.size());
    std::vector<std::uint8_t>().swap(init.bytes);  // a 1 GB model should not be held twice
    file.tensors.emplace(init.name, std::move(t));
  }
  for (const onnx::Node& node : model.nodes) {
    for (std::size_t k = 0; k < node.inputs.size(); ++k) {
      if (!file.tensors.count(node.inputs[k])) continue;
      file.consumers[node.inputs[k]].push_back(
          {node.op_type, node.name, static_cast<int>(k), node.outputs.empty() ? "" : node.outputs.front()});
    }
  }
  return file;
}

TensorFile load_tensor_file(const std::string& path) {
  std::string extension = std::filesystem::path(path).extension().string();
  for (char& c : extension) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (extension == ".onnx") return load_onnx_initializers(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot open ({})", path, std::strerror(errno)));
  char magic[2] = {0, 0};
  in.read(magic, 2);
  // torch.save writes a zip archive ("PK") or, in the legacy format, a pickle (0x80 protocol).
  const bool is_pth = (magic[0] == 'P' && magic[1] == 'K') || static_cast<unsigned char>(magic[0]) == 0x80;
  return is_pth ? load_pth_state_dict(path) : load_safetensors(path);
}

}  // namespace lidere
