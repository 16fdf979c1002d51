#include "datasets/bsds.h"

#include <matio.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "core/errors.h"
#include "datasets/mat5_structure.h"

namespace lidere::datasets {
namespace {

struct MatCloser {
  void operator()(mat_t* mat) const { Mat_Close(mat); }
};
struct VarFreer {
  void operator()(matvar_t* var) const { Mat_VarFree(var); }
};

// A 2-D MATLAB array (column-major) as an (H, W) int64 tensor. MATLAB logicals are stored as
// uint8 with the logical flag; label maps as uint16 (any integer or double class is accepted).
torch::Tensor to_tensor(const matvar_t* var, const std::string& path, const char* field,
                        torch::ScalarType out = torch::kLong) {
  if (var->rank != 2 || var->data == nullptr || var->isComplex) {
    throw InputError(fmt::format("{}: field '{}' is not a 2-D real array", path, field));
  }
  // Sizes from the file are untrusted: a product that overflows could match a small buffer, and a
  // few kB of compressed data can claim a 17-Gpixel array that libmatio allocates lazily but our
  // int64 copy could not (found by the long fuzz run). 2^26 pixels is an 8192 x 8192 map.
  constexpr std::size_t kMaxSide = std::size_t{1} << 20, kMaxPixels = std::size_t{1} << 26;
  if (var->dims[0] == 0 || var->dims[1] == 0 || var->dims[0] > kMaxSide || var->dims[1] > kMaxSide ||
      var->dims[0] * var->dims[1] > kMaxPixels) {
    throw InputError(fmt::format("{}: field '{}' is {}x{}, not an image-sized array", path, field, var->dims[0],
                                 var->dims[1]));
  }
  const auto rows = static_cast<std::int64_t>(var->dims[0]), cols = static_cast<std::int64_t>(var->dims[1]);
  torch::ScalarType type;
  switch (var->data_type) {
    case MAT_T_UINT8:
      type = torch::kUInt8;
      break;
    case MAT_T_INT8:
      type = torch::kInt8;
      break;
    case MAT_T_UINT16:
      type = torch::kUInt16;
      break;
    case MAT_T_INT16:
      type = torch::kInt16;
      break;
    case MAT_T_INT32:
      type = torch::kInt32;
      break;
    case MAT_T_DOUBLE:
      type = torch::kDouble;
      break;
    case MAT_T_SINGLE:
      type = torch::kFloat;
      break;
    default:
      throw InputError(fmt::format("{}: field '{}' has an unsupported element type", path, field));
  }
  if (var->nbytes != static_cast<std::size_t>(rows * cols) * c10::elementSize(type)) {
    throw InputError(
        fmt::format("{}: field '{}' holds {} bytes for a {}x{} array", path, field, var->nbytes, rows, cols));
  }
  // Column-major (W, H) in memory -> transpose to (H, W); clone copies out of matio's buffer.
  return torch::from_blob(var->data, {cols, rows}, type).t().to(out).contiguous();
}

// The number of elements of a cell or struct array whose data holds `per_element` pointers each,
// checked against what matio read: libmatio trusts the dimensions and would read past the data.
std::size_t element_count(const matvar_t* var, std::size_t per_element, const std::string& path, const char* name) {
  std::size_t count = 1;
  for (int d = 0; d < var->rank; ++d) {
    if (var->dims[d] != 0 && count > SIZE_MAX / var->dims[d]) count = SIZE_MAX;
    else count *= var->dims[d];
  }
  if (var->rank < 1 || var->data == nullptr || per_element == 0 ||
      count > var->nbytes / sizeof(matvar_t*) / per_element) {
    throw InputError(fmt::format("{}: '{}' is a damaged cell or struct array", path, name));
  }
  return count;
}

// A field of a 1x1 struct, or null. Field names are checked first: a damaged file can leave them
// empty, and libmatio's own lookup would dereference them.
const matvar_t* struct_field(const matvar_t* entry, const char* name, const std::string& path) {
  const unsigned fields = Mat_VarGetNumberOfFields(const_cast<matvar_t*>(entry));
  element_count(entry, std::max(1u, fields), path, "groundTruth entry");
  char* const* names = Mat_VarGetStructFieldnames(entry);
  if (!names) return nullptr;
  for (unsigned k = 0; k < fields; ++k) {
    if (names[k] && std::strcmp(names[k], name) == 0)
      return Mat_VarGetStructFieldByIndex(const_cast<matvar_t*>(entry), k, 0);
  }
  return nullptr;
}

}  // namespace

std::vector<BsdsAnnotation> read_bsds_ground_truth(const std::string& path) {
  check_mat5_structure(path);  // before libmatio, which trusts the sizes a file claims
  std::unique_ptr<mat_t, MatCloser> mat(Mat_Open(path.c_str(), MAT_ACC_RDONLY));
  if (!mat) throw InputError(fmt::format("{}: cannot open as a MATLAB .mat file", path));
  std::unique_ptr<matvar_t, VarFreer> cell(Mat_VarRead(mat.get(), "groundTruth"));
  if (!cell || cell->class_type != MAT_C_CELL) {
    throw InputError(fmt::format("{}: no 'groundTruth' cell array (not a BSDS500 ground-truth file)", path));
  }
  const std::size_t count = element_count(cell.get(), 1, path, "groundTruth");
  std::vector<BsdsAnnotation> annotations;
  for (std::size_t i = 0; i < count; ++i) {
    matvar_t* entry = Mat_VarGetCell(cell.get(), static_cast<int>(i));
    if (!entry || entry->class_type != MAT_C_STRUCT) {
      throw InputError(fmt::format("{}: groundTruth entry {} is not a struct", path, i + 1));
    }
    BsdsAnnotation a;
    for (const char* field : {"Segmentation", "Boundaries"}) {
      const matvar_t* var = struct_field(entry, field, path);
      if (!var) throw InputError(fmt::format("{}: groundTruth entry {} has no '{}'", path, i + 1, field));
      (std::string(field) == "Segmentation" ? a.segmentation : a.boundaries) = to_tensor(var, path, field);
    }
    a.boundaries = a.boundaries != 0;
    if (a.segmentation.sizes() != a.boundaries.sizes() ||
        (!annotations.empty() && a.segmentation.sizes() != annotations.front().segmentation.sizes())) {
      throw InputError(fmt::format("{}: groundTruth entry {} has maps of another size than the first", path, i + 1));
    }
    annotations.push_back(std::move(a));
  }
  if (annotations.empty()) throw InputError(fmt::format("{}: groundTruth holds no annotation", path));
  return annotations;
}

namespace {

std::unique_ptr<matvar_t, VarFreer> read_variable(mat_t* mat, const std::string& path, const char* name,
                                                  const char* what) {
  std::unique_ptr<matvar_t, VarFreer> var(Mat_VarRead(mat, name));
  if (!var) throw InputError(fmt::format("{}: no variable '{}' ({})", path, name, what));
  return var;
}

std::unique_ptr<mat_t, MatCloser> open_mat(const std::string& path) {
  check_mat5_structure(path);
  std::unique_ptr<mat_t, MatCloser> mat(Mat_Open(path.c_str(), MAT_ACC_RDONLY));
  if (!mat) throw InputError(fmt::format("{}: cannot open as a MATLAB .mat file", path));
  return mat;
}

}  // namespace

bool mat_has_variable(const std::string& path, const char* name) {
  check_mat5_structure(path);
  std::unique_ptr<mat_t, MatCloser> mat(Mat_Open(path.c_str(), MAT_ACC_RDONLY));
  if (!mat) return false;
  std::unique_ptr<matvar_t, VarFreer> var(Mat_VarReadInfo(mat.get(), name));
  return var != nullptr;
}

torch::Tensor read_ucm2(const std::string& path) {
  const auto mat = open_mat(path);
  const auto var = read_variable(mat.get(), path, "ucm2", "not an ultrametric contour map file");
  const torch::Tensor ucm = to_tensor(var.get(), path, "ucm2", torch::kDouble);
  if (ucm.size(0) < 3 || ucm.size(1) < 3 || ucm.size(0) % 2 == 0 || ucm.size(1) % 2 == 0) {
    throw InputError(
        fmt::format("{}: ucm2 is {}x{}, not a 'doubleSize' map (2H+1 x 2W+1)", path, ucm.size(0), ucm.size(1)));
  }
  // The benchmark's ucm2(3:2:end, 3:2:end): the value at each pixel.
  return ucm.slice(0, 2, std::nullopt, 2).slice(1, 2, std::nullopt, 2).contiguous();
}

std::vector<torch::Tensor> read_segs(const std::string& path) {
  const auto mat = open_mat(path);
  const auto cell = read_variable(mat.get(), path, "segs", "not a segmentations file");
  if (cell->class_type != MAT_C_CELL) throw InputError(fmt::format("{}: 'segs' is not a cell array", path));
  const std::size_t count = element_count(cell.get(), 1, path, "segs");
  std::vector<torch::Tensor> segs;
  for (std::size_t i = 0; i < count; ++i) {
    const matvar_t* entry = Mat_VarGetCell(cell.get(), static_cast<int>(i));
    if (!entry) throw InputError(fmt::format("{}: segs entry {} is missing", path, i + 1));
    segs.push_back(to_tensor(entry, path, "segs"));
    if (segs.back().sizes() != segs.front().sizes()) {
      throw InputError(fmt::format("{}: segs entry {} has another size than the first", path, i + 1));
    }
  }
  if (segs.empty()) throw InputError(fmt::format("{}: segs holds no segmentation", path));
  return segs;
}

}  // namespace lidere::datasets
