#include "datasets/voc_xml.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include <fmt/format.h>
#include <tinyxml2.h>

#include "core/errors.h"

namespace lidere::datasets {
namespace {

std::string trimmed(const char* text) {
  std::string s = text ? text : "";
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

const tinyxml2::XMLElement* child(const tinyxml2::XMLElement* parent, const char* tag) {
  return parent ? parent->FirstChildElement(tag) : nullptr;
}

std::string child_text(const tinyxml2::XMLElement* parent, const char* tag) {
  const auto* element = child(parent, tag);
  return element ? trimmed(element->GetText()) : std::string();
}

// A number as VOC tools write it ("81", "81.0", " 81 "); throws naming where it is.
double parse_number(const std::string& text, const std::string& where, const char* tag) {
  if (text.empty()) throw InputError(fmt::format("{}: <{}> is missing or empty", where, tag));
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(value)) {
    throw InputError(fmt::format("{}: <{}> is not a number: \"{}\"", where, tag, text.substr(0, 40)));
  }
  return value;
}

std::int64_t parse_size(const tinyxml2::XMLElement* size, const char* tag, const std::string& where) {
  const std::string text = child_text(size, tag);
  if (text.empty()) return 0;
  const double value = parse_number(text, where, tag);
  if (value < 0 || value != std::floor(value) || value > 1e9) {
    throw InputError(fmt::format("{}: <size><{}> must be a whole number of pixels, got \"{}\"", where, tag, text));
  }
  return static_cast<std::int64_t>(value);
}

// "0" / "1" flags; anything else that is not empty is an error.
bool parse_flag(const tinyxml2::XMLElement* object, const char* tag, const std::string& where) {
  const std::string text = child_text(object, tag);
  if (text.empty() || text == "0") return false;
  if (text == "1") return true;
  throw InputError(fmt::format("{}: <{}> must be 0 or 1, got \"{}\"", where, tag, text.substr(0, 40)));
}

}  // namespace

VocAnnotation parse_voc_xml(std::string_view text, const std::string& name) {
  tinyxml2::XMLDocument document;
  if (document.Parse(text.data(), text.size()) != tinyxml2::XML_SUCCESS) {
    throw InputError(fmt::format("{}: not valid XML (line {}): {}", name, document.ErrorLineNum(),
                                 trimmed(document.ErrorStr())));
  }
  const tinyxml2::XMLElement* root = document.RootElement();
  if (!root || std::string(root->Name()) != "annotation") {
    throw InputError(fmt::format("{}: not a Pascal VOC annotation (the root element is <{}>, not <annotation>)", name,
                                 root ? root->Name() : ""));
  }
  VocAnnotation annotation;
  annotation.filename = child_text(root, "filename");
  const auto* size = child(root, "size");
  annotation.width = parse_size(size, "width", name);
  annotation.height = parse_size(size, "height", name);
  annotation.depth = parse_size(size, "depth", name);
  std::size_t n = 0;
  for (const auto* object = root->FirstChildElement("object"); object; object = object->NextSiblingElement("object"), ++n) {
    const std::string where = fmt::format("{}: object {}", name, n + 1);
    VocObject o;
    o.name = child_text(object, "name");
    if (o.name.empty()) throw InputError(fmt::format("{}: no <name>", where));
    const auto* box = child(object, "bndbox");
    if (!box) throw InputError(fmt::format("{} ({}): no <bndbox>", where, o.name));
    const char* tags[4] = {"xmin", "ymin", "xmax", "ymax"};
    for (int i = 0; i < 4; ++i) o.corners[i] = parse_number(child_text(box, tags[i]), where, tags[i]);
    if (o.corners[2] < o.corners[0] || o.corners[3] < o.corners[1]) {
      throw InputError(fmt::format("{} ({}): xmax < xmin or ymax < ymin ({}, {}, {}, {})", where, o.name, o.corners[0],
                                   o.corners[1], o.corners[2], o.corners[3]));
    }
    o.difficult = parse_flag(object, "difficult", where);
    o.truncated = parse_flag(object, "truncated", where);
    annotation.objects.push_back(std::move(o));
  }
  return annotation;
}

VocAnnotation read_voc_xml(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot open the file", file.string()));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_voc_xml(text, file.string());
}

std::array<double, 4> from_voc_corners(const std::array<double, 4>& c) { return {c[0] - 1, c[1] - 1, c[2], c[3]}; }

std::array<double, 4> to_voc_corners(const std::array<double, 4>& b) { return {b[0] + 1, b[1] + 1, b[2], b[3]}; }

}  // namespace lidere::datasets
