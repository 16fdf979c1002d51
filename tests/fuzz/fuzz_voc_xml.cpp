// The Pascal VOC annotation reader: every input is read or refused with an InputError naming the
// file; never a crash. Seeds: a hand-written annotation and, from the command line, the raccoon
// set's files.
#include <string>

#include "core/errors.h"
#include "datasets/voc_xml.h"
#include "fuzz/fuzz_target.h"

namespace lidere::fuzz {

std::vector<Bytes> fuzz_seeds() {
  const std::string text = R"(<annotation verified="yes"><folder>images</folder><filename>a.jpg</filename>
<size><width>650</width><height>417</height><depth>3</depth></size><segmented>0</segmented>
<object><name>raccoon</name><pose>Unspecified</pose><truncated>1</truncated><difficult>0</difficult>
<bndbox><xmin>81</xmin><ymin>88</ymin><xmax>522</xmax><ymax>408</ymax></bndbox></object>
<object><name>dog &amp; cat</name><bndbox><xmin>1.5</xmin><ymin>2</ymin><xmax>3</xmax><ymax>4</ymax></bndbox></object>
</annotation>)";
  return {Bytes(text.begin(), text.end())};
}

void fuzz_one(const std::uint8_t* data, std::size_t size) {
  try {
    const auto a = datasets::parse_voc_xml(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.xml");
    for (const auto& o : a.objects) datasets::to_voc_corners(datasets::from_voc_corners(o.corners));
  } catch (const InputError& e) {
    expect_names(e.what(), "fuzz.xml");
  }
}

}  // namespace lidere::fuzz
