// Pascal VOC annotation XML (datasets/voc_xml.h): a real file of the raccoon set, the coordinate
// convention and its inverse, and the errors that name the file and the object.
#include <string>

#include <fmt/format.h>

#include "core/errors.h"
#include "datasets/voc_xml.h"
#include "test_common.h"

namespace fs = std::filesystem;
using lidere::datasets::parse_voc_xml;
using lidere::testing::thrown_message;

CATCH_TEST_CASE("VOC XML: a raccoon annotation reads as written", "[unit]") {
  const fs::path file = lidere::testing::shared_dir() / "datasets/raccoon/annotations/raccoon-1.xml";
  LIDERE_REQUIRE_AVAILABLE(fs::exists(file), "the raccoon dataset (../shared/datasets/raccoon)");
  const auto a = lidere::datasets::read_voc_xml(file);
  CATCH_CHECK(a.filename == "raccoon-1.jpg");
  CATCH_CHECK(a.width == 650);
  CATCH_CHECK(a.height == 417);
  CATCH_CHECK(a.depth == 3);
  CATCH_REQUIRE(a.objects.size() == 1);
  CATCH_CHECK(a.objects[0].name == "raccoon");
  CATCH_CHECK(a.objects[0].corners == std::array<double, 4>{81, 88, 522, 408});
  CATCH_CHECK_FALSE(a.objects[0].difficult);
}

CATCH_TEST_CASE("VOC XML: 1-based inclusive corners <-> continuous boxes, lossless both ways", "[unit]") {
  using lidere::datasets::from_voc_corners;
  using lidere::datasets::to_voc_corners;
  // A box covering the whole of a 650 x 417 image: VOC 1, 1, 650, 417.
  CATCH_CHECK(from_voc_corners({1, 1, 650, 417}) == std::array<double, 4>{0, 0, 650, 417});
  for (const std::array<double, 4> c : {std::array<double, 4>{81, 88, 522, 408}, {1, 1, 1, 1}, {3.5, 2.25, 10.75, 9}}) {
    CATCH_CHECK(to_voc_corners(from_voc_corners(c)) == c);
  }
  const auto b = from_voc_corners({81, 88, 522, 408});
  CATCH_CHECK(b[2] - b[0] == 522 - 81 + 1);  // the width counts both edge pixels
}

CATCH_TEST_CASE("VOC XML: malformed files are refused naming the file and the object", "[unit]") {
  const auto error = [](const std::string& text) {
    return thrown_message<lidere::InputError>([&] { parse_voc_xml(text, "a.xml"); });
  };
  const auto object = [](const std::string& inner) {
    return fmt::format("<annotation><size><width>10</width><height>10</height></size><object>{}</object></annotation>",
                       inner);
  };
  CATCH_CHECK_THAT(error("<annotation><object>"), Catch::Contains("a.xml: not valid XML"));
  CATCH_CHECK_THAT(error("<root/>"), Catch::Contains("a.xml: not a Pascal VOC annotation"));
  CATCH_CHECK_THAT(error(object("<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox>")),
                   Catch::Contains("a.xml: object 1: no <name>"));
  CATCH_CHECK_THAT(error(object("<name>cat</name>")), Catch::Contains("a.xml: object 1 (cat): no <bndbox>"));
  CATCH_CHECK_THAT(error(object("<name>cat</name><bndbox><xmin>1</xmin><ymin>x</ymin><xmax>2</xmax><ymax>2</ymax></bndbox>")),
                   Catch::Contains("a.xml: object 1: <ymin> is not a number"));
  CATCH_CHECK_THAT(error(object("<name>cat</name><bndbox><xmin>5</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox>")),
                   Catch::Contains("xmax < xmin"));
  CATCH_CHECK_THAT(error(object("<name>cat</name><difficult>yes</difficult><bndbox><xmin>1</xmin><ymin>1</ymin>"
                                "<xmax>2</xmax><ymax>2</ymax></bndbox>")),
                   Catch::Contains("<difficult> must be 0 or 1"));
  // Floating-point corners (some tools write them) and surrounding spaces are fine.
  const auto a = parse_voc_xml(object("<name> cat </name><difficult>1</difficult><bndbox><xmin> 1.5 </xmin><ymin>1</ymin>"
                                      "<xmax>2.5</xmax><ymax>2</ymax></bndbox>"),
                               "a.xml");
  CATCH_CHECK(a.objects[0].name == "cat");
  CATCH_CHECK(a.objects[0].corners[0] == 1.5);
  CATCH_CHECK(a.objects[0].difficult);
}
