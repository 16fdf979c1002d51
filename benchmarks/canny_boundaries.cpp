// OpenCV's Canny as a boundary detector for the BSDS benchmark: for every image of a folder, a
// soft boundary map = the fraction of Canny runs over a sweep of hysteresis thresholds that mark
// the pixel (so the benchmark's threshold sweep walks Canny's own), written as 8-bit PNG.
//   canny_boundaries IMAGES_DIR OUT_DIR [RUNS=20] [SIGMA=1.5]
#include <filesystem>
#include <iostream>
#include <string>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: canny_boundaries IMAGES_DIR OUT_DIR [RUNS=20] [SIGMA=1.5]\n";
    return 2;
  }
  const fs::path in = argv[1], out = argv[2];
  const int runs = argc > 3 ? std::stoi(argv[3]) : 20;
  const double sigma = argc > 4 ? std::stod(argv[4]) : 1.5;
  fs::create_directories(out);
  int images = 0;
  for (const auto& e : fs::directory_iterator(in)) {
    const cv::Mat image = cv::imread(e.path().string(), cv::IMREAD_GRAYSCALE);
    if (image.empty()) continue;  // not an image
    cv::Mat blurred, edges, votes = cv::Mat::zeros(image.size(), CV_32F);
    cv::GaussianBlur(image, blurred, cv::Size(0, 0), sigma);
    for (int k = 1; k <= runs; ++k) {
      const double high = 10.0 * k;  // 10 .. 10 * runs on the 8-bit gradient scale
      cv::Canny(blurred, edges, 0.4 * high, high, 3, true);
      cv::accumulate(edges / 255, votes);
    }
    cv::Mat soft;
    votes.convertTo(soft, CV_8U, 255.0 / runs);
    cv::imwrite((out / (e.path().stem().string() + ".png")).string(), soft);
    ++images;
  }
  std::cout << images << " boundary maps in " << out.string() << "\n";
  return images > 0 ? 0 : 1;
}
