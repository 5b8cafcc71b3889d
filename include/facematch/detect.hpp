// Stage 2: find faces. Detector objects hold per-thread buffers: use one per thread (they are cheap;
// the compiled nets inside are shared through Models).
#pragma once

#include <compare>
#include <memory>
#include <opencv2/core.hpp>
#include <span>
#include <string>
#include <vector>

#include "facematch/face.hpp"
#include "facematch/models.hpp"

namespace facematch {

// ssd and tiny are face-api's detectors. cascade runs tiny first and SSD only when tiny finds nothing or
// nothing it is sure of (DetectorOptions::cascade_sure_score), keeping tiny's unsure faces when SSD finds
// none: the two miss different photos, so the cascade finds more faces than either, at a fraction of
// SSD's cost.
enum class DetectorKind { ssd, tiny, cascade };
std::string_view to_string(DetectorKind kind);
// "ssd" | "tiny" | "cascade"; Error{invalid_argument} otherwise.
DetectorKind parse_detector(std::string_view name);

struct DetectorOptions {
  DetectorKind kind = DetectorKind::ssd;
  float min_score = 0.5f;     // face-api's default for both detectors
  int max_results = 100;      // SSD only (face-api's default)
  int tiny_input_size = 416;  // tiny only; a multiple of 32

  // Recall extensions beyond face-api. All off by default: ssd and tiny then return exactly what
  // face-api returns (docs/detection-recall.md has the measurements behind each).
  //
  // When nothing is found in a dark photo (see is_low_light), detect again on enhance_low_light's copy.
  bool retry_low_light = false;
  // The retry's score threshold: the brightened copy's faces score low (lowlight_2's: 0.21).
  float retry_min_score = 0.2f;
  // ssd/tiny: when nothing is found, run the other detector (cascade always does).
  bool fallback_other = false;
  // Photos whose longer side is at least this many pixels are also searched in 2x2 overlapping tiles
  // (faces there shrink below the nets' reach at 512/416); 0 = never.
  int tile_min_side = 0;
  // cascade: tiny's faces are kept when its best score reaches this; otherwise SSD decides.
  float cascade_sure_score = 0.7f;
  // cascade: a stage sure of some faces also reports those it scores from this up to min_score; when
  // there are any apart from the sure ones, the next stage runs too and its faces join them (no second
  // face dropped because the first was clear); 0 = off. Measured on multi_biden_obama_child.jpg: tiny
  // is sure of one adult (0.87) and scores the other 0.486, which SSD finds at 0.997. The faces kept
  // are the same as at min_score: both detectors suppress overlaps by higher scores only.
  float cascade_doubt_score = 0.f;
  // When nothing is found (after the low-light retry), detect again on the photo centred inside a
  // black border of this fraction of its longer side on every edge; 0 = never. Both of face-api's
  // detectors under-score faces that fill the frame or touch its edges: a frontal 125-pixel face in a
  // 250x250 portrait scored 0.2-0.48, the same photo inside a 25% border 0.99 (docs/detection-recall.md).
  // Faces whose centre falls in the border are dropped.
  double border_retry_fraction = 0.0;
  // When nothing is found after every retry above, detect again (with the same retries) on the photo
  // turned a quarter clockwise, a quarter counter-clockwise and upside down, for photos taken sideways
  // without an EXIF orientation; the turn whose best face scores highest (at least 0.7) wins, its
  // faces carrying Detection::upright_turns. Only photos that would otherwise have no face pay for
  // that. Faces that are found get cheaper looks: the tiny detector at 160 px on a crop of twice an SSD
  // face, upright and turned a quarter each way, finds faces it scores 0.5 higher turned; BlazeFace at
  // 64 px (detect/upright_judge.hpp) adds faces whose eyes it reads 60 degrees or more off level, and
  // stands each of those up on the side it scores higher; the others it turns over when it scores them
  // turned over 0.5 higher than as they are.
  bool retry_quarter_turns = false;

  // Detectors are cached per configuration (one per thread), so every field takes part.
  friend bool operator==(const DetectorOptions&, const DetectorOptions&) = default;
  friend auto operator<=>(const DetectorOptions&, const DetectorOptions&) = default;
};

// Mean luma (BT.601, 0..255) below which a photo counts as dark for retry_low_light.
inline constexpr double kLowLightMeanLuma = 50.0;
// True when the photo's mean luma is below kLowLightMeanLuma. `rgb` is CV_8UC3.
bool is_low_light(const cv::Mat& rgb);
// A brightened copy for detection: downscaled to at most `max_side` pixels a side (0 = full size; the
// result is scaled by result.cols / rgb.cols), median-filtered against sensor noise, then the luma range
// stretched between its 0.5% percentiles and a gamma lifting its mean to mid-grey (chroma untouched).
cv::Mat enhance_low_light(const cv::Mat& rgb, int max_side = 0);

class FaceDetector {
 public:
  virtual ~FaceDetector() = default;
  // `rgb` is CV_8UC3 in RGB order. Faces sorted by score, highest first, as face-api returns them.
  virtual std::vector<Detection> detect(const cv::Mat& rgb) = 0;
  virtual DetectorKind kind() const = 0;
};

std::unique_ptr<FaceDetector> make_detector(std::shared_ptr<const Models> models,
                                            const DetectorOptions& options);

// Every detector, as data: a net's detector is its model (the model registry, models/model_registry.hpp)
// and the function that makes its decoder; a composition lists the detectors it runs, in order. Adding
// a detector is its net description, its decoder class, a DetectorKind and one entry here
// (src/detect/detector.cpp); names, parsing and help text come from this table.
struct DetectorSpec {
  DetectorKind kind;
  std::string_view name;
  std::string_view model;  // empty for a composition
  std::unique_ptr<FaceDetector> (*make)(std::shared_ptr<const Models>, const DetectorOptions&);
  // cascade: the detectors it tries, cheapest first; each one's faces are kept when it is sure of
  // them (DetectorOptions::cascade_sure_score), the last one's whenever it finds any.
  std::span<const DetectorKind> stages;
};
std::span<const DetectorSpec> detector_registry();
const DetectorSpec& detector_spec(DetectorKind kind);

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

// Any configuration beyond face-api's plain ssd/tiny (cascade, fallback_other, tile_min_side,
// retry_low_light, border_retry_fraction); make_detector returns one when needed. It owns an SSD and a tiny
// detector, each made on first use.
class RecallFaceDetector final : public FaceDetector {
 public:
  RecallFaceDetector(std::shared_ptr<const Models> models, const DetectorOptions& options);
  ~RecallFaceDetector() override;
  std::vector<Detection> detect(const cv::Mat& rgb) override;
  DetectorKind kind() const override;

  struct Impl;

 private:
  // Every retry except the quarter turns.
  std::vector<Detection> detect_upright(const cv::Mat& rgb);
  // The faces of the photo turned whichever way finds the surest, boxes in the photo as it is, each with
  // that turn (none when no turn finds a face sure enough).
  std::vector<Detection> detect_turned(const cv::Mat& rgb);

  std::unique_ptr<Impl> impl_;
};

}  // namespace facematch
