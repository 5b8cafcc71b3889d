// face-api's TinyFaceDetector: TinyYolov2Base.detect + TinyFaceDetector.locateFaces. The box arithmetic
// is done in double in the same order as the JS so that downstream floor() crops land on the same pixel.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "engine/executor.hpp"
#include "facematch/detect.hpp"
#include "facematch/error.hpp"
#include "image/face_api_resize.hpp"
#include "models/model_registry.hpp"
#include "models/net_runners.hpp"
#include "models/tiny_face_detector_net.hpp"

namespace facematch {
namespace {

// BOX_ANCHORS in src/tinyFaceDetector/const.ts, in grid cells.
constexpr double kAnchors[models::kTinyAnchorCount][2] = {{1.603231, 2.094468},
                                                          {6.041143, 7.080126},
                                                          {2.882459, 3.518061},
                                                          {4.266906, 5.178857},
                                                          {9.041765, 10.66308}};
constexpr double kIouThreshold = 0.4;  // IOU_THRESHOLD in src/tinyFaceDetector/const.ts

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

// face-api's Box: x, y, width, height; right/bottom/area derived on demand as in classes/Box.ts.
struct Box {
  double x, y, width, height;
  double right() const { return x + width; }
  double bottom() const { return y + height; }
  double area() const { return width * height; }
  Box scaled(double sx, double sy) const { return {x * sx, y * sy, width * sx, height * sy}; }
};

double iou(const Box& a, const Box& b) {
  const double w = std::max(0.0, std::min(a.right(), b.right()) - std::max(a.x, b.x));
  const double h = std::max(0.0, std::min(a.bottom(), b.bottom()) - std::max(a.y, b.y));
  const double inter = w * h;
  return inter / (a.area() + b.area() - inter);
}

// src/ops/nonMaxSuppression.ts: a stable ascending sort (V8's) popped from the back, so among equal
// scores the later candidate wins. A NaN IoU (degenerate boxes) fails `<= threshold` and is dropped, as in
// JS.
std::vector<std::size_t> non_max_suppression(const std::vector<Box>& boxes, const std::vector<double>& scores,
                                             double threshold) {
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });
  std::vector<std::size_t> pick;
  while (!order.empty()) {
    const std::size_t current = order.back();
    order.pop_back();
    pick.push_back(current);
    std::erase_if(order, [&](std::size_t i) { return !(iou(boxes[current], boxes[i]) <= threshold); });
  }
  return pick;
}

}  // namespace

const InputNormalization& kNormalization = models::model_spec(models::kTinyFaceDetectorModel).normalization;

struct TinyFaceDetector::State {
  int input_size;
  float min_score;
  models::NetRunners runner;
};

TinyFaceDetector::TinyFaceDetector(std::shared_ptr<const Models> models, int input_size, float min_score) {
  if (!models) throw Error(ErrorCode::internal, "TinyFaceDetector needs loaded models");
  std::string key = std::string(models::kTinyFaceDetectorModel) + "@" + std::to_string(input_size);
  state_.reset(new State{input_size, min_score,
                         models::NetRunners(std::move(models), std::move(key), [input_size](const Models& m) {
                           return models::describe_tiny_face_detector(
                               m.weights(models::kTinyFaceDetectorModel), input_size);
                         })});
  state_->runner(1);  // compile now, so a bad model or input size fails here
}

TinyFaceDetector::~TinyFaceDetector() = default;

std::vector<float> TinyFaceDetector::run_net(std::span<const float> input) {
  const int size = state_->input_size;
  if (input.size() != static_cast<std::size_t>(size) * size * 3)
    throw Error(ErrorCode::invalid_argument, "tiny detector input must be " + std::to_string(size) + "x" +
                                                 std::to_string(size) + "x3 floats, got " +
                                                 std::to_string(input.size()));
  // normalize_hwc only reads the image; the const_cast lets it view the caller's buffer without a copy.
  const cv::Mat view(size, size, CV_32FC3, const_cast<float*>(input.data()));
  auto& runner = state_->runner(1);
  normalize_hwc(view, kNormalization, runner.input());
  runner.run();
  const auto out = runner.output(0);
  return {out.begin(), out.end()};
}

std::vector<Detection> TinyFaceDetector::detect(const cv::Mat& rgb) {
  if (rgb.empty() || rgb.type() != CV_8UC3)
    throw Error(ErrorCode::invalid_argument, "detect needs an 8-bit RGB image");
  const int size = state_->input_size;
  auto& runner = state_->runner(1);
  face_api_net_input(rgb, size, /*center=*/false, kNormalization, runner.input());
  runner.run();
  const auto grid = runner.output(0);

  // NetInput.getReshapedInputDimensions (computeReshapedDimensions): the image's extent inside the
  // padded square, rounded to whole pixels; the correction factors undo the padding.
  const double image_w = rgb.cols, image_h = rgb.rows;
  const cv::Size2d reshaped = reshaped_dimensions(rgb.cols, rgb.rows, size);
  const double reshaped_size = std::max(reshaped.width, reshaped.height);
  const double correction_x = reshaped_size / reshaped.width, correction_y = reshaped_size / reshaped.height;

  // TinyYolov2Base.extractBoxes, cell by cell in row, column, anchor order.
  const int cells = size / 32;
  std::vector<Box> boxes;
  std::vector<double> scores;
  for (int row = 0; row < cells; ++row) {
    for (int col = 0; col < cells; ++col) {
      for (int anchor = 0; anchor < models::kTinyAnchorCount; ++anchor) {
        const float* v = grid.data() +
                         ((static_cast<std::size_t>(row) * cells + col) * models::kTinyAnchorCount + anchor) *
                             models::kTinyBoxEncoding;
        const double score = sigmoid(v[4]);
        if (!(score > static_cast<double>(state_->min_score))) continue;
        const double ct_x = ((col + sigmoid(v[0])) / cells) * correction_x;
        const double ct_y = ((row + sigmoid(v[1])) / cells) * correction_y;
        const double width =
            ((std::exp(static_cast<double>(v[2])) * kAnchors[anchor][0]) / cells) * correction_x;
        const double height =
            ((std::exp(static_cast<double>(v[3])) * kAnchors[anchor][1]) / cells) * correction_y;
        const double x = ct_x - width / 2, y = ct_y - height / 2;
        // new BoundingBox(x, y, x + w, y + h) stores right - left as the width.
        boxes.push_back({x, y, (x + width) - x, (y + height) - y});
        scores.push_back(score);
      }
    }
  }

  std::vector<Box> nms_boxes;
  nms_boxes.reserve(boxes.size());
  for (const auto& b : boxes) nms_boxes.push_back(b.scaled(size, size));
  std::vector<Detection> detections;
  for (const std::size_t i : non_max_suppression(nms_boxes, scores, kIouThreshold)) {
    // ObjectDetection scales the relative box to the image, locateFaces takes its relativeBox (times
    // 1/width, 1/height) and FaceDetection scales it back: three roundings that the JS does too.
    const Box in_image =
        boxes[i].scaled(image_w, image_h).scaled(1 / image_w, 1 / image_h).scaled(image_w, image_h);
    detections.push_back(
        {cv::Rect2d(in_image.x, in_image.y, in_image.width, in_image.height), static_cast<float>(scores[i])});
  }
  return detections;
}

}  // namespace facematch
