// Images without a real face, for the tests that prove no route says "same person" without two faces:
// synthetic patterns made here, and derived copies of real photos (a face blurred beyond recognition, a
// face cut in half) whose source is read from ../shared/faces at run time.
#pragma once

#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace facematch::testing {

struct NonFace {
  std::string name;
  cv::Mat rgb;  // CV_8UC3
};

// Uniform noise (two different seeds), flat white, black and grey, horizontal and radial gradients,
// 8- and 32-pixel checkerboards, all 224x224 like the original API's inputs; obama_1.jpg under a
// Gaussian blur of sigma 6 and 20; the left half of obama_1.jpg's face only; the penguin drawing and the
// grass photo of ../shared/faces.
std::vector<NonFace> non_faces();

}  // namespace facematch::testing
