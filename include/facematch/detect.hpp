// Stage 2: find faces. Detector objects hold per-thread buffers: use one per thread (they are cheap;
// the compiled nets inside are shared through Models).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "facematch/face.hpp"
#include "facematch/models.hpp"

namespace facematch {

enum class DetectorKind { ssd, tiny };
std::string_view to_string(DetectorKind kind);
DetectorKind parse_detector(std::string_view name);  // "ssd" | "tiny"; Error{invalid_argument} otherwise

struct DetectorOptions {
  DetectorKind kind = DetectorKind::ssd;
  float min_score = 0.5f;   // face-api's default for both detectors
  int max_results = 100;    // SSD only (face-api's default)
  int tiny_input_size = 416;  // tiny only; a multiple of 32
};

class FaceDetector {
 public:
  virtual ~FaceDetector() = default;
  // `rgb` is CV_8UC3 in RGB order. Faces sorted by score, highest first, as face-api returns them.
  virtual std::vector<Detection> detect(const cv::Mat& rgb) = 0;
  virtual DetectorKind kind() const = 0;
};

std::unique_ptr<FaceDetector> make_detector(std::shared_ptr<const Models> models, const DetectorOptions& options);

// face-api's SSD MobileNetV1 (512x512 input).
class SsdFaceDetector final : public FaceDetector {
 public:
  SsdFaceDetector(std::shared_ptr<const Models> models, float min_score = 0.5f, int max_results = 100);
  ~SsdFaceDetector() override;
  std::vector<Detection> detect(const cv::Mat& rgb) override;
  DetectorKind kind() const override { return DetectorKind::ssd; }

  // The net alone, for parity tests: `input` is 512x512x3 RGB on the 0..255 scale (already padded and
  // resized). Returns the 5118 anchors' raw outputs: box encodings [5118][4] (ty, tx, th, tw) and
  // class logits [5118][3], in face-api's anchor order.
  struct RawOutput {
    std::vector<float> box_encodings;
    std::vector<float> class_logits;
  };
  RawOutput run_net(std::span<const float> input);

  struct State;

 private:
  std::unique_ptr<State> state_;
};

// face-api's tiny face detector (Tiny YOLOv2 variant).
class TinyFaceDetector final : public FaceDetector {
 public:
  TinyFaceDetector(std::shared_ptr<const Models> models, int input_size = 416, float min_score = 0.5f);
  ~TinyFaceDetector() override;
  std::vector<Detection> detect(const cv::Mat& rgb) override;
  DetectorKind kind() const override { return DetectorKind::tiny; }

  // The net alone: `input` is size x size x 3 RGB 0..255; returns the raw 13x13 (size/32) grid output,
  // NHWC, 5 anchors x (tx, ty, tw, th, conf) = 25 channels.
  std::vector<float> run_net(std::span<const float> input);

  struct State;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace facematch
