// Whether a face stands upside down, judged by MediaPipe's BlazeFace short-range detector
// (models/blazeface_net): trained on upright faces, it scores a face upright far higher than the same face
// upside down, which face-api's detectors do not (tiny scores upside-down faces nearly as high as upright
// ones; docs/detection-recall.md "Photos turned without EXIF").
#pragma once

#include <array>
#include <memory>
#include <opencv2/core.hpp>
#include <span>
#include <vector>

#include "facematch/models.hpp"

namespace facematch {

class UprightJudge {
 public:
  // `input_size`: the side BlazeFace sees a face's square at (a multiple of 16; its own is 128).
  explicit UprightJudge(std::shared_ptr<const Models> models, int input_size = 0);
  ~UprightJudge();
  UprightJudge(const UprightJudge&) = delete;
  UprightJudge& operator=(const UprightJudge&) = delete;

  // BlazeFace's best score logit for a face about the centre of the square around `box`, for the square
  // turned each of `turns` clockwise quarter turns (1 to 4 of 0-3; one batch).
  std::vector<float> turn_logits(const cv::Mat& rgb, const cv::Rect2d& box, std::span<const int> turns);

  // Whether each face in `boxes` stands upside down: BlazeFace scores it turned over by a calibrated
  // margin above as it is. One batched run sees every face as it is; a second sees turned over only the
  // faces it did not score surely upright.
  std::vector<bool> upside_down(const cv::Mat& rgb, std::span<const cv::Rect2d> boxes);
  bool upside_down(const cv::Mat& rgb, const cv::Rect2d& box) { return upside_down(rgb, {&box, 1})[0]; }

  // The net's "objects" output [anchors x 17] for one input_size x input_size RGB input of values 0..255
  // (HWC floats), for parity tests against the graph's own code.
  std::vector<float> objects(std::span<const float> pixels);

 private:
  // The square around a face that BlazeFace sees (float RGB, input_size a side); empty when it misses
  // the photo.
  cv::Mat face_square(const cv::Mat& rgb, const cv::Rect2d& box) const;
  // BlazeFace's best logit for a face about the centre of each square, turned its clockwise quarter
  // turns, in one batch; -inf for an empty square.
  std::vector<float> square_logits(std::span<const cv::Mat> squares, std::span<const int> turns);

  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace facematch
