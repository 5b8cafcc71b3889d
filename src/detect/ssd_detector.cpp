// face-api's SsdMobilenetv1.locateFaces: pad to a square at the bottom/right, resize to 512, run the
// net, decode the 5118 anchors, then face-api's own greedy NMS.
#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>

#include "detect/ssd_decode.hpp"
#include "engine/executor.hpp"
#include "facematch/detect.hpp"
#include "facematch/error.hpp"
#include "image/face_api_resize.hpp"
#include "models/net_runners.hpp"
#include "models/ssd_mobilenetv1_net.hpp"

namespace facematch {
namespace {

using models::kSsdAnchors;
using models::kSsdInputSize;

// SsdMobilenetv1.locateFaces hard-codes it.
constexpr double kIouThreshold = 0.5;

// (ymin, xmin, ymax, xmax), normalized to the padded square; float32 like the tfjs tensor it mirrors.
using BoxF = std::array<float, 4>;

// outputLayer.ts decodeBoxesLayer, one float32 op at a time in tfjs's order so the boxes round the
// same way (every intermediate is a float32 tensor there).
BoxF decode_box(const float* anchor, const float* encoding) {
  const float ha = anchor[2] - anchor[0];
  const float wa = anchor[3] - anchor[1];
  const float cya = anchor[0] + ha / 2.f;
  const float cxa = anchor[1] + wa / 2.f;
  const float half_h = std::exp(encoding[2] / 5.f) * ha / 2.f;
  const float cy = encoding[0] / 10.f * ha + cya;
  const float half_w = std::exp(encoding[3] / 5.f) * wa / 2.f;
  const float cx = encoding[1] / 10.f * wa + cxa;
  return {cy - half_h, cx - half_w, cy + half_h, cx + half_w};
}

// nonMaxSuppression.ts IOU: in double, on corners re-ordered by min/max, 0 for an empty box.
double iou(const BoxF& a, const BoxF& b) {
  const double ymin_a = std::min<double>(a[0], a[2]), xmin_a = std::min<double>(a[1], a[3]);
  const double ymax_a = std::max<double>(a[0], a[2]), xmax_a = std::max<double>(a[1], a[3]);
  const double ymin_b = std::min<double>(b[0], b[2]), xmin_b = std::min<double>(b[1], b[3]);
  const double ymax_b = std::max<double>(b[0], b[2]), xmax_b = std::max<double>(b[1], b[3]);
  const double area_a = (ymax_a - ymin_a) * (xmax_a - xmin_a);
  const double area_b = (ymax_b - ymin_b) * (xmax_b - xmin_b);
  if (area_a <= 0 || area_b <= 0) return 0.0;
  const double inter = std::max(std::min(ymax_a, ymax_b) - std::max(ymin_a, ymin_b), 0.0) *
                       std::max(std::min(xmax_a, xmax_b) - std::max(xmin_a, xmin_b), 0.0);
  return inter / (area_a + area_b - inter);
}

// nonMaxSuppression.ts, step for step: candidates above the threshold, highest score first (JS sort
// is stable, so ties keep anchor order); a candidate survives only if no selected box overlaps it by
// more than the IoU threshold.
std::vector<int> non_max_suppression(const std::vector<BoxF>& boxes, const std::vector<float>& scores,
                                     int max_results, float min_score) {
  std::vector<int> candidates;
  for (int i = 0; i < static_cast<int>(scores.size()); ++i)
    if (scores[static_cast<std::size_t>(i)] > min_score) candidates.push_back(i);
  std::stable_sort(candidates.begin(), candidates.end(), [&](int a, int b) {
    return scores[static_cast<std::size_t>(a)] > scores[static_cast<std::size_t>(b)];
  });
  const std::size_t output_size =
      static_cast<std::size_t>(std::min<int>(max_results, static_cast<int>(boxes.size())));
  std::vector<int> selected;
  for (const int c : candidates) {
    if (selected.size() >= output_size) break;
    const double original = scores[static_cast<std::size_t>(c)];
    double score = original;
    for (auto j = selected.rbegin(); j != selected.rend(); ++j) {
      const double overlap = iou(boxes[static_cast<std::size_t>(c)], boxes[static_cast<std::size_t>(*j)]);
      if (overlap == 0.0) continue;
      score *= overlap <= kIouThreshold ? 1.0 : 0.0;
      if (score <= min_score) break;
    }
    if (score == original) selected.push_back(c);
  }
  return selected;
}

// SsdMobilenetv1.forwardInput: tf.sub(tf.div(x, 127.5), 1), two float32 roundings in that order (not
// InputNormalization's (x - 127.5) / 127.5, which rounds differently).
float forward_input(float v) { return v / 127.5f - 1.f; }

}  // namespace

void ssd_net_input(const cv::Mat& rgb, std::span<float> input) {
  face_api_net_input(rgb, kSsdInputSize, /*center=*/false, {}, input);
  std::transform(input.begin(), input.end(), input.begin(), forward_input);
}

SsdFaceDetector::RawOutput ssd_outputs(const engine::NetRunner& runner) {
  SsdFaceDetector::RawOutput out;
  out.box_encodings.reserve(static_cast<std::size_t>(kSsdAnchors) * 4);
  out.class_logits.reserve(static_cast<std::size_t>(kSsdAnchors) * 3);
  // Outputs alternate box/class per predictor; NHWC flattening is face-api's reshape to [-1, 4] / [-1, 3].
  for (std::size_t p = 0; p < static_cast<std::size_t>(models::kSsdPredictors); ++p) {
    const auto boxes = runner.output(2 * p);
    const auto classes = runner.output(2 * p + 1);
    out.box_encodings.insert(out.box_encodings.end(), boxes.begin(), boxes.end());
    out.class_logits.insert(out.class_logits.end(), classes.begin(), classes.end());
  }
  return out;
}

std::vector<Detection> ssd_detections(const SsdFaceDetector::RawOutput& raw, std::span<const float> anchors,
                                      cv::Size image, float min_score, int max_results) {
  std::vector<BoxF> boxes(static_cast<std::size_t>(kSsdAnchors));
  std::vector<float> scores(static_cast<std::size_t>(kSsdAnchors));
  for (std::size_t i = 0; i < boxes.size(); ++i) {
    boxes[i] = decode_box(&anchors[i * 4], &raw.box_encodings[i * 4]);
    scores[i] = 1.f / (1.f + std::exp(-raw.class_logits[i * 3 + 1]));  // class 1 is "face"
  }
  const auto kept = non_max_suppression(boxes, scores, max_results, min_score);

  // locateFaces: clip to the padded square, undo the padding, then scale to the image (Box.rescale).
  const cv::Size2d reshaped = reshaped_dimensions(image.width, image.height, kSsdInputSize);
  const double pad_x = kSsdInputSize / reshaped.width;
  const double pad_y = kSsdInputSize / reshaped.height;
  std::vector<Detection> detections;
  detections.reserve(kept.size());
  for (const int k : kept) {
    const BoxF& b = boxes[static_cast<std::size_t>(k)];
    const double top = std::max(0.0, static_cast<double>(b[0])) * pad_y;
    const double bottom = std::min(1.0, static_cast<double>(b[2])) * pad_y;
    const double left = std::max(0.0, static_cast<double>(b[1])) * pad_x;
    const double right = std::min(1.0, static_cast<double>(b[3])) * pad_x;
    Detection d;
    d.box = cv::Rect2d(left * image.width, top * image.height, (right - left) * image.width,
                       (bottom - top) * image.height);
    d.score = scores[static_cast<std::size_t>(k)];
    detections.push_back(d);
  }
  return detections;
}

struct SsdFaceDetector::State {
  std::shared_ptr<const Models> models;
  float min_score;
  int max_results;
  const std::vector<float>* anchors;
  models::NetRunners runner;
};

SsdFaceDetector::SsdFaceDetector(std::shared_ptr<const Models> models, float min_score, int max_results) {
  if (!models) throw Error(ErrorCode::internal, "SsdFaceDetector needs loaded models");
  if (!(min_score > 0.f && min_score < 1.f))
    throw Error(ErrorCode::invalid_argument, "SSD min_score must be between 0 and 1");
  if (max_results < 1) throw Error(ErrorCode::invalid_argument, "SSD max_results must be at least 1");
  const auto& weights = models->weights(models::kSsdModel);
  const auto& anchors = weights.get(models::kSsdAnchorsTensor, {1, kSsdAnchors, 4});
  models::NetRunners runner(models, std::string(models::kSsdModel) + "@512", [](const Models& m) {
    return models::describe_ssd_mobilenetv1(m.weights(models::kSsdModel));
  });
  state_.reset(new State{models, min_score, max_results, &anchors.values, std::move(runner)});
  state_->runner(1);  // compile now, so a bad model fails here
}

SsdFaceDetector::~SsdFaceDetector() = default;

SsdFaceDetector::RawOutput SsdFaceDetector::run_net(std::span<const float> input) {
  constexpr std::size_t kInputValues = static_cast<std::size_t>(kSsdInputSize) * kSsdInputSize * 3;
  if (input.size() != kInputValues)
    throw Error(ErrorCode::invalid_argument,
                "SSD input must be 512x512x3 floats, got " + std::to_string(input.size()));
  auto& runner = state_->runner(1);
  std::transform(input.begin(), input.end(), runner.input().begin(), forward_input);
  runner.run();
  return ssd_outputs(runner);
}

std::vector<Detection> SsdFaceDetector::detect(const cv::Mat& rgb) {
  if (rgb.empty() || rgb.type() != CV_8UC3)
    throw Error(ErrorCode::invalid_argument, "SSD detector needs a non-empty 8-bit RGB image (CV_8UC3)");
  // The resized image goes straight into the net's input buffer and is normalized there.
  auto& runner = state_->runner(1);
  ssd_net_input(rgb, runner.input());
  runner.run();
  return ssd_detections(ssd_outputs(runner), *state_->anchors, rgb.size(), state_->min_score,
                        state_->max_results);
}

}  // namespace facematch
