// face-api's faceLandmark68Net as the chained API runs it: DetectAllFaceLandmarksTask crops the box,
// FaceLandmark68NetBase.postProcess maps the outputs back, extendWithFaceLandmarks shifts them.
#include <algorithm>
#include <cmath>
#include <string>

#include "engine/executor.hpp"
#include "facematch/error.hpp"
#include "facematch/landmarks.hpp"
#include "image/face_api_resize.hpp"
#include "models/landmark68_net.hpp"

namespace facematch {

struct LandmarkDetector::State {
  engine::NetRunner runner;
};

LandmarkDetector::LandmarkDetector(std::shared_ptr<const Models> models) {
  if (!models) throw Error(ErrorCode::internal, "LandmarkDetector needs loaded models");
  const auto net = models->compiled(models::kLandmark68Model, 1, [&] {
    return models::describe_landmark68_net(models->weights(models::kLandmark68Model));
  });
  state_.reset(new State{engine::NetRunner(net)});
}

LandmarkDetector::~LandmarkDetector() = default;

std::array<float, 136> LandmarkDetector::run_net(std::span<const float> input) {
  constexpr int size = models::kLandmarkInputSize;
  if (input.size() != static_cast<std::size_t>(size) * size * 3)
    throw Error(ErrorCode::invalid_argument,
                "landmark net input must be 112x112x3 floats, got " + std::to_string(input.size()));
  // normalize_hwc only reads the image; the const_cast lets it view the caller's buffer without a copy.
  const cv::Mat view(size, size, CV_32FC3, const_cast<float*>(input.data()));
  state_->runner.run(normalize_hwc(view, kFaceMean, 255.f));
  const auto out = state_->runner.output(0);
  std::array<float, 136> raw{};
  std::copy(out.begin(), out.end(), raw.begin());
  return raw;
}

Landmarks68 LandmarkDetector::detect(const cv::Mat& rgb, const Detection& detection) {
  if (rgb.empty() || rgb.type() != CV_8UC3)
    throw Error(ErrorCode::invalid_argument, "landmark detection needs an 8-bit RGB image");
  const cv::Rect crop = clip_and_floor(detection.box, rgb.cols, rgb.rows);
  if (crop.width <= 0 || crop.height <= 0)
    throw Error(ErrorCode::invalid_argument, "the face box lies outside the image");
  constexpr int size = models::kLandmarkInputSize;
  // A copy, not a view: copyMakeBorder fills the padding of a ROI from the pixels around it, whereas
  // face-api pads the sliced crop with zeros.
  const cv::Mat input = face_api_net_input(rgb(crop), size, /*center=*/true);
  state_->runner.run(normalize_hwc(input, kFaceMean, 255.f));
  const auto raw = state_->runner.output(0);

  // postProcess works on float32 tensors (tf.fill of the JS numbers) and assumes the padding is split
  // evenly, although padToSquare puts the odd pixel after the image: kept, to match face-api.
  const double w = crop.width, h = crop.height;
  const double scale = size / std::max(w, h);
  const double scaled_w = w * scale, scaled_h = h * scale;
  const float pad_x = static_cast<float>(scaled_w < scaled_h ? std::abs(scaled_w - scaled_h) / 2 : 0.0);
  const float pad_y = static_cast<float>(scaled_h < scaled_w ? std::abs(scaled_w - scaled_h) / 2 : 0.0);
  const float div_x = static_cast<float>(scaled_w), div_y = static_cast<float>(scaled_h);
  const float input_size = size;

  // FaceLandmarks scales the relative points by the crop size; shiftBy goes back to relative
  // positions and scales again before adding the box origin (unfloored, unclipped), all in double.
  const double shift_x = detection.box.x, shift_y = detection.box.y;
  Landmarks68 points;
  for (std::size_t i = 0; i < points.size(); ++i) {
    const double rel_x = (raw[2 * i] * input_size - pad_x) / div_x;
    const double rel_y = (raw[2 * i + 1] * input_size - pad_y) / div_y;
    const double unshifted_x = rel_x * w, unshifted_y = rel_y * h;
    points[i] = {(unshifted_x / w) * w + shift_x, (unshifted_y / h) * h + shift_y};
  }
  return points;
}

}  // namespace facematch
