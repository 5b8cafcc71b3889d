// The photos the load benchmark sends, made the same way wherever one is measured (bench/load.sh compares
// the service with one verification of the same bytes).
#pragma once

#include <cmath>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace facematch::bench {

// The photo re-encoded as JPEG (quality 90) at about `pixels` pixels, keeping its aspect ratio.
inline std::vector<unsigned char> jpeg_of_about(const std::string& path, double pixels, int& width,
                                                int& height) {
  const cv::Mat image = cv::imread(path, cv::IMREAD_COLOR);
  if (image.empty()) throw std::runtime_error("cannot read " + path);
  const double scale = std::sqrt(pixels / (static_cast<double>(image.cols) * image.rows));
  cv::Mat resized;
  cv::resize(image, resized, cv::Size(), scale, scale, cv::INTER_AREA);
  width = resized.cols;
  height = resized.rows;
  std::vector<unsigned char> jpeg;
  cv::imencode(".jpg", resized, jpeg, {cv::IMWRITE_JPEG_QUALITY, 90});
  return jpeg;
}

}  // namespace facematch::bench
