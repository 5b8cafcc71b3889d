// Whether a face stands upside down, judged by MediaPipe's BlazeFace short-range detector
// (models/blazeface_net): trained on upright faces, it scores a face upright far higher than the same face
// upside down, which face-api's detectors do not (tiny scores upside-down faces nearly as high as upright
// ones; docs/detection-recall.md "Photos turned without EXIF").
#pragma once

#include <cmath>
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

  // What BlazeFace sees of the face about the centre of a square: its best score logit, and the angle of
  // the line from its right eye to its left (degrees, clockwise in image coordinates; about 0 upright).
  struct Look {
    float logit = -INFINITY;
    float eye_angle_deg = 0;
  };
  // The look at the square around `box` turned each of `turns` clockwise quarter turns (1 to 4 of 0-3;
  // one batch).
  std::vector<Look> turn_looks(const cv::Mat& rgb, const cv::Rect2d& box, std::span<const int> turns);

  // The clockwise quarter turns that stand each face in `boxes` up (Detection::upright_turns). A face
  // lies on its side when `on_its_side` says so (another judge's verdict; empty = none) or when
  // BlazeFace sees it with its eyes at least 60 degrees off level; which side is then decided by
  // BlazeFace's score of the face turned a quarter each way (1 or 3). A face not surely upright also lies
  // on its side when its better quarter turn scores a calibrated margin above as it is and above turned
  // over, its eyes leaning at least 20 degrees; else 2 when it scores the face turned over by a
  // calibrated margin above as it is, else 0. One batched run sees the faces not known to lie on their
  // side as they are; a second sees the faces on their side turned both ways and those not surely
  // upright turned every other way.
  std::vector<int> upright_turns(const cv::Mat& rgb, std::span<const cv::Rect2d> boxes,
                                 const std::vector<bool>& on_its_side = {});
  int upright_turns(const cv::Mat& rgb, const cv::Rect2d& box) { return upright_turns(rgb, {&box, 1})[0]; }

  // The net's "objects" output [anchors x 17] for one input_size x input_size RGB input of values 0..255
  // (HWC floats), for parity tests against the graph's own code.
  std::vector<float> objects(std::span<const float> pixels);

 private:
  // The square around a face that BlazeFace sees (float RGB, input_size a side); empty when it misses
  // the photo.
  cv::Mat face_square(const cv::Mat& rgb, const cv::Rect2d& box) const;
  // The look at each square turned its clockwise quarter turns, in one batch; logit -inf for an empty
  // square.
  std::vector<Look> square_looks(std::span<const cv::Mat> squares, std::span<const int> turns);

  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace facematch
