// Plain types that cross stage boundaries.
#pragma once

#include <array>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace facematch {

// A detector's output in image pixels. The box may extend past the image border (face-api clips
// only in its padded square), so consumers clip when cropping.
struct Detection {
  cv::Rect2d box;  // double, like face-api's JS numbers: crops floor() these, so float rounding could move a crop by a pixel
  float score = 0.f;
  // Clockwise quarter turns (0-3) under which the detector found this face upright, in a photo taken
  // sideways or upside down without an EXIF orientation; `box` is in the photo's own coordinates, and
  // the landmark net sees the face turned the same way.
  int upright_turns = 0;
};

// iBUG 68-point order: 0-16 jaw, 17-21 / 22-26 brows, 27-35 nose, 36-41 / 42-47 eyes, 48-67 mouth.
using Landmarks68 = std::array<cv::Point2d, 68>;

struct Face {
  Detection detection;
  Landmarks68 landmarks{};
};

struct Embedding {
  std::vector<float> values;
  std::string model;  // descriptors from different models are not comparable
};

}  // namespace facematch
