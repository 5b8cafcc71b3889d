// Stage 3: 68 facial landmarks for a detected face (face-api's faceLandmark68Net). One object per thread.
#pragma once

#include <array>
#include <memory>
#include <span>

#include <opencv2/core.hpp>

#include "facematch/face.hpp"
#include "facematch/models.hpp"

namespace facematch {

class LandmarkDetector {
 public:
  explicit LandmarkDetector(std::shared_ptr<const Models> models);
  ~LandmarkDetector();

  // `rgb` is CV_8UC3 RGB; the detection's box is cropped exactly as face-api does
  // (clipAtImageBorders + floor), padded to a centred square, resized to 112 and run through the net.
  // Points are in image pixels.
  Landmarks68 detect(const cv::Mat& rgb, const Detection& detection);

  // The net alone: `input` is 112x112x3 RGB 0..255. Returns the 136 raw outputs (x, y interleaved,
  // relative to the 112 square).
  std::array<float, 136> run_net(std::span<const float> input);

  struct State;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace facematch
