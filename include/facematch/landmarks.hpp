// Stage 3: 68 facial landmarks for a detected face (face-api's faceLandmark68Net). One object per thread.
#pragma once

#include <array>
#include <memory>
#include <opencv2/core.hpp>
#include <span>
#include <vector>

#include "facematch/face.hpp"
#include "facematch/models.hpp"

namespace facematch {

// One face to locate landmarks in: the image it is in (CV_8UC3 RGB, not owned) and its detection.
struct FaceInImage {
  const cv::Mat* rgb = nullptr;
  Detection detection;
};

class LandmarkDetector {
 public:
  // The nets run in `models`' precision (Models::with_precision).
  explicit LandmarkDetector(std::shared_ptr<const Models> models);
  ~LandmarkDetector();

  // `rgb` is CV_8UC3 RGB; the detection's box is cropped exactly as face-api does
  // (clipAtImageBorders + floor), padded to a centred square, resized to 112 and run through the net.
  // Points are in image pixels.
  Landmarks68 detect(const cv::Mat& rgb, const Detection& detection);
  // Several faces, of one image or of several, through the net as one batch (up to kMaxBatch at a
  // time); results in the same order and equal to detect() one by one.
  std::vector<Landmarks68> detect(std::span<const FaceInImage> faces);
  static constexpr int kMaxBatch = 8;

  // The net alone: `input` is 112x112x3 RGB 0..255. Returns the 136 raw outputs (x, y interleaved,
  // relative to the 112 square).
  std::array<float, 136> run_net(std::span<const float> input);

  struct State;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace facematch
