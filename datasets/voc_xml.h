// Pascal VOC annotation XML (one file per image, as VOC, labelImg and the raccoon set write it):
//   <annotation><filename/><size><width/><height/><depth/></size>
//     <object><name/><truncated/><difficult/><bndbox><xmin/><ymin/><xmax/><ymax/></bndbox></object>...
//
// Coordinates: VOC's are 1-based pixel indices, both corners inside the box (xmax = width for a box
// that reaches the right edge). lidere's continuous coordinates put pixel i at [i, i + 1), so a VOC
// box becomes [xmin - 1, ymin - 1, xmax, ymax] (Detectron2's convention) and its width is
// xmax - xmin + 1; `to_voc_corners` is the inverse, so integer VOC boxes round-trip exactly.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace lidere::datasets {

struct VocObject {
  std::string name;
  std::array<double, 4> corners{};  // xmin, ymin, xmax, ymax as written (1-based, inclusive)
  bool difficult = false;
  bool truncated = false;
};

struct VocAnnotation {
  std::string filename;                     // <filename>, may be empty
  std::int64_t width = 0, height = 0, depth = 0;  // <size>; 0 where absent
  std::vector<VocObject> objects;
};

// Throws InputError naming `name` and the object for malformed XML, a missing <name> or
// <bndbox>, non-numeric or non-finite corners, or xmax < xmin / ymax < ymin.
VocAnnotation parse_voc_xml(std::string_view text, const std::string& name);
VocAnnotation read_voc_xml(const std::filesystem::path& file);

// VOC corners (1-based, inclusive) <-> continuous x0, y0, x1, y1.
std::array<double, 4> from_voc_corners(const std::array<double, 4>& corners);
std::array<double, 4> to_voc_corners(const std::array<double, 4>& xyxy);

}  // namespace lidere::datasets
