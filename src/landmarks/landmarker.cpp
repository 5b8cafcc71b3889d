// face-api's faceLandmark68Net as the chained API runs it: DetectAllFaceLandmarksTask crops the box,
// FaceLandmark68NetBase.postProcess maps the outputs back, extendWithFaceLandmarks shifts them.
#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "engine/executor.hpp"
#include "facematch/error.hpp"
#include "facematch/landmarks.hpp"
#include "image/face_api_resize.hpp"
#include "image/quarter_turn.hpp"
#include "models/landmark68_net.hpp"
#include "models/model_registry.hpp"
#include "models/net_runners.hpp"

namespace facematch {
namespace {

const InputNormalization& kNormalization = models::model_spec(models::kLandmark68Model).normalization;

constexpr int kSize = models::kLandmarkInputSize;
constexpr std::size_t kInputFloats = static_cast<std::size_t>(kSize) * kSize * 3;

// postProcess works on float32 tensors (tf.fill of the JS numbers) and assumes the padding is split
// evenly, although padToSquare puts the odd pixel after the image: kept, to match face-api.
Landmarks68 to_image_points(const float* raw, const cv::Rect& crop, const Detection& detection) {
  const double w = crop.width, h = crop.height;
  const double scale = kSize / std::max(w, h);
  const double scaled_w = w * scale, scaled_h = h * scale;
  const float pad_x = static_cast<float>(scaled_w < scaled_h ? std::abs(scaled_w - scaled_h) / 2 : 0.0);
  const float pad_y = static_cast<float>(scaled_h < scaled_w ? std::abs(scaled_w - scaled_h) / 2 : 0.0);
  const float div_x = static_cast<float>(scaled_w), div_y = static_cast<float>(scaled_h);
  const float input_size = kSize;

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

}  // namespace

struct LandmarkDetector::State {
  models::NetRunners runner;
};

LandmarkDetector::LandmarkDetector(std::shared_ptr<const Models> models) {
  if (!models) throw Error(ErrorCode::internal, "LandmarkDetector needs loaded models");
  state_.reset(new State{models::NetRunners(std::move(models), models::kLandmark68Model, [](const Models& m) {
    return models::describe_landmark68_net(m.weights(models::kLandmark68Model));
  })});
  state_->runner(1);  // compile now, so a bad model fails here and the first call is not slower
}

LandmarkDetector::~LandmarkDetector() = default;

std::array<float, 136> LandmarkDetector::run_net(std::span<const float> input) {
  if (input.size() != kInputFloats)
    throw Error(ErrorCode::invalid_argument,
                "landmark net input must be 112x112x3 floats, got " + std::to_string(input.size()));
  // normalize_hwc only reads the image; the const_cast lets it view the caller's buffer without a copy.
  const cv::Mat view(kSize, kSize, CV_32FC3, const_cast<float*>(input.data()));
  auto& runner = state_->runner(1);
  normalize_hwc(view, kNormalization, runner.input());
  runner.run();
  const auto out = runner.output(0);
  std::array<float, 136> raw{};
  std::copy(out.begin(), out.end(), raw.begin());
  return raw;
}

Landmarks68 LandmarkDetector::detect(const cv::Mat& rgb, const Detection& detection) {
  const FaceInImage face{&rgb, detection};
  return detect(std::span<const FaceInImage>(&face, 1)).front();
}

std::vector<Landmarks68> LandmarkDetector::detect(std::span<const FaceInImage> faces) {
  std::vector<cv::Rect> crops;
  std::vector<cv::Mat> pixels;  // what the net sees: the crop, turned upright for a sideways face
  crops.reserve(faces.size());
  pixels.reserve(faces.size());
  for (const auto& f : faces) {
    if (!f.rgb || f.rgb->empty() || f.rgb->type() != CV_8UC3)
      throw Error(ErrorCode::invalid_argument, "landmark detection needs an 8-bit RGB image");
    const cv::Rect crop = clip_and_floor(f.detection.box, f.rgb->cols, f.rgb->rows);
    if (crop.width <= 0 || crop.height <= 0)
      throw Error(ErrorCode::invalid_argument, "the face box lies outside the image");
    crops.push_back(crop);
    pixels.push_back(turn_clockwise((*f.rgb)(crop), f.detection.upright_turns));
  }
  std::vector<Landmarks68> points;
  points.reserve(faces.size());
  for (std::size_t first = 0; first < faces.size(); first += kMaxBatch) {
    const std::size_t count = std::min<std::size_t>(kMaxBatch, faces.size() - first);
    auto& runner = state_->runner(static_cast<int>(count));
    const auto input = runner.input();
    for (std::size_t i = 0; i < count; ++i)
      face_api_net_input(pixels[first + i], kSize, /*center=*/true, kNormalization,
                         input.subspan(i * kInputFloats, kInputFloats));
    runner.run();
    const auto raw = runner.output(0);
    for (std::size_t i = 0; i < count; ++i) {
      const float* face_raw = raw.data() + i * models::kLandmarkOutputs;
      const auto& face = faces[first + i];
      const cv::Rect& crop = crops[first + i];
      const int turns = face.detection.upright_turns;
      if (turns == 0) {
        points.push_back(to_image_points(face_raw, crop, face.detection));
        continue;
      }
      // Points of the turned crop, then back into the photo.
      const cv::Mat& turned = pixels[first + i];
      const cv::Rect turned_crop(0, 0, turned.cols, turned.rows);
      auto turned_points = to_image_points(face_raw, turned_crop, Detection{cv::Rect2d(turned_crop), 1.f});
      for (auto& p : turned_points) p = unturn_point(p, turns, crop.size()) + cv::Point2d(crop.tl());
      points.push_back(turned_points);
    }
  }
  return points;
}

}  // namespace facematch
