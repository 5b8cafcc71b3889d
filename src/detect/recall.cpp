// Recall extensions around face-api's two detectors: the tiny -> SSD cascade, the other detector as a
// fallback, 2x2 tiles for large photos, and a retry on a brightened copy of dark photos. Each step only
// adds work when the previous one leaves the photo without a face (tiles excepted), so photos that
// face-api handles cost what they cost before.
#include <algorithm>
#include <cmath>
#include <map>
#include <opencv2/imgproc.hpp>

#include "detect/upright_judge.hpp"
#include "facematch/detect.hpp"
#include "facematch/error.hpp"
#include "image/face_api_resize.hpp"
#include "image/quarter_turn.hpp"

namespace facematch {
namespace {

// Luma is averaged over a nearest-neighbour thumbnail: a 12-megapixel photo needs no more to tell dark
// from lit, and cv::mean over every pixel would cost more than the detector it guards.
constexpr int kLumaThumbnailSide = 256;
// enhance_low_light lifts the mean luma to this fraction of white, never darkening (gamma <= 1), and
// at most by gamma 0.25, a guard against amplifying noise that no measured photo reached.
constexpr double kTargetMeanLuma = 0.45;
constexpr double kMinGamma = 0.25;
constexpr int kMedianAperture = 5;
// Fraction of pixels clipped at each end of the luma range before stretching it.
constexpr double kStretchPercentile = 0.005;
// The retry runs on a copy of at most this many pixels a side: the nets see 512 or 416 anyway and the
// area-averaging downscale removes much of a dark photo's noise (with the median filter, lowlight_1's face
// scored 0.46 at 800 and 0.31 at 512). CLAHE on top of the stretch changed no score by more than 0.03, so it
// is not done.
constexpr int kEnhancedMaxSide = 800;

// Tiles cover this fraction of each side, so neighbouring tiles overlap by 20% of the side: a face
// smaller than that lies whole in some tile.
constexpr double kTileFraction = 0.6;
// Merging the full-image pass with the tiles: a box is the same face as a kept one when they overlap by
// this IoU or when this much of the smaller box lies inside the other (a tile's view of a face is often
// tighter than the full pass's).
constexpr double kMergeIou = 0.3;
constexpr double kMergeContained = 0.6;
// A border wider than the photo itself only shrinks the face further below the nets' reach.
constexpr double kMaxBorderFraction = 1.0;

// Which way up a face stands is judged by the tiny detector, which finds faces lying on their side
// rarely (5% of the recall set's faces turned 90 degrees, against SSD's 79%): it looks at a square of
// this many times the face's side around it, at this input size, upright and turned a quarter each way.
constexpr double kOrientationCropFactor = 2.0;
constexpr int kOrientationInputSize = 160;
constexpr float kOrientationFloor = 0.1f;
// tiny puts a face on its side when it scores the face turned a quarter at least this much above as it
// lies (which side is left to BlazeFace).
// Measured on 1,004 faces of the recall set (100 calibration photos, 14 variants; tiny's score on each
// of the four turns): a margin of 0.5 turned none of the 807 upright or rolled faces and stood up 95 of
// the 127 faces lying on their side; 0.3 stood up 118 but turned 3 upright faces. The faces it leaves
// upright go to BlazeFace (detect/upright_judge.hpp), which reads the faces on their side it missed by
// their eyes, and judges upside down: tiny scores upright faces upside down nearly as high as upright
// (median 0.89 for 0.82), so no margin told them apart without turning upright faces over.
constexpr float kTurnMargin = 0.5f;
// A photo without a face searched again turned must show a face this sure: three more looks at a photo
// without one are three more chances of a false face (noface_penguin_drawing.jpg turned scored 0.62).
constexpr float kTurnedPhotoMinScore = 0.7f;
// Only the best-scored faces of a photo are checked, which bounds the cost on crowds.
constexpr std::size_t kMaxOrientationChecks = 8;

double mean_luma(const cv::Mat& rgb) {
  cv::Mat small = rgb;
  const int longer = std::max(rgb.cols, rgb.rows);
  if (longer > kLumaThumbnailSide) {
    const double s = static_cast<double>(kLumaThumbnailSide) / longer;
    cv::resize(
        rgb, small,
        cv::Size(std::max(1, static_cast<int>(rgb.cols * s)), std::max(1, static_cast<int>(rgb.rows * s))), 0,
        0, cv::INTER_NEAREST);
  }
  const cv::Scalar m = cv::mean(small);
  return 0.299 * m[0] + 0.587 * m[1] + 0.114 * m[2];
}

void check_rgb(const cv::Mat& rgb, const char* what) {
  if (rgb.empty() || rgb.type() != CV_8UC3)
    throw Error(ErrorCode::invalid_argument,
                std::string(what) + " needs a non-empty 8-bit RGB image (CV_8UC3)");
}

bool same_face(const cv::Rect2d& a, const cv::Rect2d& b) {
  const double inter = (a & b).area();
  if (inter <= 0) return false;
  const double uni = a.area() + b.area() - inter;
  return inter / uni > kMergeIou || inter / std::min(a.area(), b.area()) > kMergeContained;
}

std::vector<Detection> by_score(std::vector<Detection> d) {
  std::stable_sort(d.begin(), d.end(),
                   [](const Detection& a, const Detection& b) { return a.score > b.score; });
  return d;
}

std::vector<Detection> detect_tiled(FaceDetector& detector, const cv::Mat& rgb, int tile_min_side);

}  // namespace

bool is_low_light(const cv::Mat& rgb) {
  check_rgb(rgb, "is_low_light");
  return mean_luma(rgb) < kLowLightMeanLuma;
}

cv::Mat enhance_low_light(const cv::Mat& rgb, int max_side) {
  check_rgb(rgb, "enhance_low_light");
  if (max_side < 0)
    throw Error(ErrorCode::invalid_argument, "enhance_low_light max_side must be 0 or positive");
  cv::Mat src = rgb;
  const int longer = std::max(rgb.cols, rgb.rows);
  if (max_side > 0 && longer > max_side) {
    const double s = static_cast<double>(max_side) / longer;
    cv::resize(rgb, src,
               cv::Size(std::max(1, static_cast<int>(std::lround(rgb.cols * s))),
                        std::max(1, static_cast<int>(std::lround(rgb.rows * s)))),
               0, 0, cv::INTER_AREA);
  }
  // At the pixel level a dark photo is mostly sensor noise. A 5x5 median raised SSD's score for
  // lowlight_1's face from 0.20 to 0.31 (at 512 px) and moved lowlight_2's best box from the whole
  // photo (0.10) onto the face (0.22); a Gaussian blur did less.
  cv::Mat denoised;
  cv::medianBlur(src, denoised, kMedianAperture);
  cv::Mat ycrcb;
  cv::cvtColor(denoised, ycrcb, cv::COLOR_RGB2YCrCb);
  std::vector<cv::Mat> planes;
  cv::split(ycrcb, planes);

  // Dark photos are also flat: the sensor's black level and haze leave the darkest pixels far from 0. A
  // percentile stretch restores the range, then a gamma lifts the mean to mid-grey.
  cv::Mat hist;
  const int channels[] = {0};
  const int bins[] = {256};
  const float range[] = {0.f, 256.f};
  const float* ranges[] = {range};
  cv::calcHist(&planes[0], 1, channels, cv::Mat(), hist, 1, bins, ranges);
  const double total = static_cast<double>(planes[0].total());
  int lo = 0, hi = 255;
  for (double below = 0; lo < 255 && (below += hist.at<float>(lo)) <= total * kStretchPercentile;) ++lo;
  for (double above = 0; hi > lo + 1 && (above += hist.at<float>(hi)) <= total * kStretchPercentile;) --hi;
  std::vector<double> stretched(256);
  double mean = 0;
  for (int i = 0; i < 256; ++i) {
    stretched[static_cast<std::size_t>(i)] = std::clamp((i - lo) / static_cast<double>(hi - lo), 0.0, 1.0);
    mean += hist.at<float>(i) * stretched[static_cast<std::size_t>(i)];
  }
  mean = std::clamp(mean / total, 1.0 / 255.0, 1.0);
  const double gamma = std::clamp(std::log(kTargetMeanLuma) / std::log(mean), kMinGamma, 1.0);
  cv::Mat lut(1, 256, CV_8U);
  for (int i = 0; i < 256; ++i)
    lut.at<std::uint8_t>(i) =
        cv::saturate_cast<std::uint8_t>(255.0 * std::pow(stretched[static_cast<std::size_t>(i)], gamma));
  cv::LUT(planes[0], lut, planes[0]);

  cv::merge(planes, ycrcb);
  cv::Mat out;
  cv::cvtColor(ycrcb, out, cv::COLOR_YCrCb2RGB);
  return out;
}

namespace {

std::vector<Detection> detect_tiled(FaceDetector& detector, const cv::Mat& rgb, int tile_min_side) {
  auto found = detector.detect(rgb);
  if (tile_min_side <= 0 || std::max(rgb.cols, rgb.rows) < tile_min_side) return found;
  const int tw = static_cast<int>(std::ceil(rgb.cols * kTileFraction));
  const int th = static_cast<int>(std::ceil(rgb.rows * kTileFraction));
  for (const int x0 : {0, rgb.cols - tw}) {
    for (const int y0 : {0, rgb.rows - th}) {
      const cv::Rect tile(x0, y0, tw, th);
      for (Detection d : detector.detect(rgb(tile))) {
        d.box.x += x0;
        d.box.y += y0;
        // A face cut by an inner tile edge is whole in the overlapping tile or in the full pass; its
        // partial box here would only compete with the whole one.
        const bool cut = (x0 > 0 && d.box.x <= x0 + 1) || (x0 == 0 && d.box.br().x >= tw - 1) ||
                         (y0 > 0 && d.box.y <= y0 + 1) || (y0 == 0 && d.box.br().y >= th - 1);
        if (!cut) found.push_back(d);
      }
    }
  }
  std::vector<Detection> kept;
  for (const Detection& d : by_score(std::move(found)))
    if (std::none_of(kept.begin(), kept.end(), [&](const Detection& k) { return same_face(k.box, d.box); }))
      kept.push_back(d);
  return kept;
}

}  // namespace

namespace {

// One pass of the configured detector(s) at one score threshold; the detectors are made on first use.
class Chain {
 public:
  Chain(std::shared_ptr<const Models> models, const DetectorOptions& options, float min_score)
      : models_(std::move(models)), options_(options), stages_(detector_spec(options.kind).stages) {
    options_.min_score = min_score;
  }

  std::vector<Detection> detect(const cv::Mat& rgb) {
    tiny_boxes_.clear();
    const auto& stages = stages_;
    if (!stages.empty()) {
      std::vector<Detection> kept, unsure;
      for (std::size_t i = 0; i < stages.size(); ++i) {
        const bool last = i + 1 == stages.size();
        const float floor = last ? options_.min_score : stage_floor();
        std::vector<Detection> confident, doubtful;
        for (const Detection& d : run(stages[i], rgb, floor))
          (d.score >= options_.min_score ? confident : doubtful).push_back(d);
        if (last || (!confident.empty() && confident.front().score >= options_.cascade_sure_score)) {
          for (const Detection& d : confident)
            if (std::none_of(kept.begin(), kept.end(),
                             [&](const Detection& k) { return same_face(k.box, d.box); }))
              kept.push_back(d);
          std::erase_if(doubtful, [&](const Detection& d) {
            return std::any_of(kept.begin(), kept.end(),
                               [&](const Detection& k) { return same_face(k.box, d.box); });
          });
          // A face it doubts beside those it is sure of goes to the next stage, whose faces join these.
          if (last || doubtful.empty()) break;
        } else if (unsure.empty()) {
          // The first unsure faces are kept when no later stage finds any: they are right more often
          // than not (docs/detection-recall.md: the two detectors miss different photos).
          unsure = std::move(confident);
        }
      }
      return kept.empty() ? unsure : by_score(std::move(kept));
    }
    auto found = run(options_.kind, rgb, options_.min_score);
    if (found.empty() && options_.fallback_other)
      found = run(options_.kind == DetectorKind::ssd ? DetectorKind::tiny : DetectorKind::ssd, rgb,
                  options_.min_score);
    return found;
  }

  // The score down to which a cascade stage other than the last reports faces.
  float stage_floor() const {
    return options_.cascade_doubt_score > 0 ? std::min(options_.min_score, options_.cascade_doubt_score)
                                            : options_.min_score;
  }

  // Whether the tiny detector itself reported this box in the last detect() (boxes as it returned them).
  bool found_by_tiny(const cv::Rect2d& box) const {
    return std::find(tiny_boxes_.begin(), tiny_boxes_.end(), box) != tiny_boxes_.end();
  }

  FaceDetector& get(DetectorKind kind, float min_score) {
    auto& slot = detectors_[{kind, min_score}];
    if (!slot) {
      DetectorOptions plain;
      plain.kind = kind;
      plain.min_score = min_score;
      plain.max_results = options_.max_results;
      plain.tiny_input_size = options_.tiny_input_size;
      slot = make_detector(models_, plain);
    }
    return *slot;
  }

 private:
  std::vector<Detection> run(DetectorKind kind, const cv::Mat& rgb, float min_score) {
    auto found = detect_tiled(get(kind, min_score), rgb, options_.tile_min_side);
    if (kind == DetectorKind::tiny)
      for (const Detection& d : found) tiny_boxes_.push_back(d.box);
    return found;
  }

  std::shared_ptr<const Models> models_;
  DetectorOptions options_;
  std::span<const DetectorKind> stages_;  // a composition's detectors (DetectorSpec::stages)
  std::map<std::pair<DetectorKind, float>, std::unique_ptr<FaceDetector>> detectors_;
  std::vector<cv::Rect2d> tiny_boxes_;
};

// The photo centred in a black border: a face that fills the frame or touches its edge then looks like
// the faces the detectors were trained on. Boxes come back in the photo's coordinates (they may reach
// into the border, as boxes may reach past any image's edge); a face centred in the border is not in
// the photo.
std::vector<Detection> detect_in_border(Chain& chain, const cv::Mat& rgb, double fraction) {
  const int border = static_cast<int>(std::lround(fraction * std::max(rgb.cols, rgb.rows)));
  cv::Mat framed;
  cv::copyMakeBorder(rgb, framed, border, border, border, border, cv::BORDER_CONSTANT, cv::Scalar::all(0));
  std::vector<Detection> inside;
  for (Detection d : chain.detect(framed)) {
    d.box.x -= border;
    d.box.y -= border;
    const cv::Point2d centre(d.box.x + d.box.width / 2, d.box.y + d.box.height / 2);
    if (centre.x >= 0 && centre.y >= 0 && centre.x < rgb.cols && centre.y < rgb.rows) inside.push_back(d);
  }
  return inside;
}

// The best tiny score of a face about the centre of `square` (the crop around one face).
float centre_face_score(FaceDetector& tiny, const cv::Mat& square) {
  const cv::Rect2d centre(square.cols * 0.25, square.rows * 0.25, square.cols * 0.5, square.rows * 0.5);
  float best = 0;
  for (const Detection& d : tiny.detect(square))
    if (centre.contains(cv::Point2d(d.box.x + d.box.width / 2, d.box.y + d.box.height / 2)))
      best = std::max(best, d.score);
  return best;
}

// Whether tiny scores the face in `box` turned a quarter either way clearly above as it lies.
bool lies_on_its_side(FaceDetector& tiny, const cv::Mat& rgb, const cv::Rect2d& box) {
  const double side = kOrientationCropFactor * std::max(box.width, box.height);
  const cv::Point2d centre(box.x + box.width / 2, box.y + box.height / 2);
  const cv::Rect want(cv::Point(static_cast<int>(std::floor(centre.x - side / 2)),
                                static_cast<int>(std::floor(centre.y - side / 2))),
                      cv::Size(static_cast<int>(std::ceil(side)), static_cast<int>(std::ceil(side))));
  cv::Mat square = region_with_black_border(rgb, want);
  if (square.empty()) return false;
  cv::resize(square, square, cv::Size(kOrientationInputSize, kOrientationInputSize), 0, 0, cv::INTER_AREA);
  const float upright = centre_face_score(tiny, square);
  if (upright + kTurnMargin >= 1.f) return false;  // no turn can win
  for (const int turns : {1, 3})
    if (centre_face_score(tiny, turn_clockwise(square, turns)) >= upright + kTurnMargin) return true;
  return false;
}

}  // namespace

struct RecallFaceDetector::Impl {
  DetectorOptions options;
  Chain main, retry;
  std::unique_ptr<FaceDetector> orientation;  // tiny at kOrientationInputSize, for retry_quarter_turns
  std::unique_ptr<UprightJudge> upright;      // BlazeFace, for retry_quarter_turns
};

RecallFaceDetector::RecallFaceDetector(std::shared_ptr<const Models> models, const DetectorOptions& options) {
  if (!models) throw Error(ErrorCode::internal, "RecallFaceDetector needs loaded models");
  if (options.tile_min_side < 0)
    throw Error(ErrorCode::invalid_argument, "tile_min_side must be 0 (no tiles) or a side in pixels");
  if (!(options.cascade_sure_score > 0.f && options.cascade_sure_score <= 1.f))
    throw Error(ErrorCode::invalid_argument, "cascade_sure_score must be in (0, 1]");
  if (!(options.cascade_doubt_score >= 0.f && options.cascade_doubt_score < 1.f))
    throw Error(ErrorCode::invalid_argument, "cascade_doubt_score must be 0 (off) or below 1");
  if (!(options.retry_min_score > 0.f && options.retry_min_score < 1.f))
    throw Error(ErrorCode::invalid_argument, "retry_min_score must be between 0 and 1");
  if (!(options.border_retry_fraction >= 0 && options.border_retry_fraction <= kMaxBorderFraction))
    throw Error(ErrorCode::invalid_argument, "border_retry_fraction must be between 0 (off) and 1");
  impl_.reset(new Impl{options, Chain(models, options, options.min_score),
                       Chain(models, options, options.retry_min_score), nullptr, nullptr});
  if (options.retry_quarter_turns) {
    DetectorOptions tiny;
    tiny.kind = DetectorKind::tiny;
    tiny.min_score = kOrientationFloor;
    tiny.tiny_input_size = kOrientationInputSize;
    impl_->orientation = make_detector(models, tiny);
    impl_->upright = std::make_unique<UprightJudge>(models);
  }
  // Build the first detector now so that bad options fail here rather than on the first photo.
  const auto stages = detector_spec(options.kind).stages;
  impl_->main.get(stages.empty() ? options.kind : stages.front(),
                  stages.empty() ? options.min_score : impl_->main.stage_floor());
}

RecallFaceDetector::~RecallFaceDetector() = default;

DetectorKind RecallFaceDetector::kind() const { return impl_->options.kind; }

std::vector<Detection> RecallFaceDetector::detect(const cv::Mat& rgb) {
  check_rgb(rgb, "detect");
  auto found = detect_upright(rgb);
  if (!impl_->options.retry_quarter_turns) return found;
  const bool found_upright = !found.empty();
  if (!found_upright) found = detect_turned(rgb);
  // SSD finds most faces lying on their side too, but the landmark net would not: stand them up. Which
  // faces lie on their side: for faces found in the photo as it is, the tiny look says (faces tiny found
  // itself are not looked at: tiny finds few faces lying down, and its look at one it found scores it
  // upright as it did; the look took 30% of the pipeline's time on sample1); for faces found only in the
  // photo turned, the turn says. BlazeFace then says which side, and judges the rest. A turned photo's
  // own turn stands where BlazeFace sees no other: the detectors' scores that chose it tell a face on
  // its side from an upright one better than its two sides apart (the recall set's 4 faces found only in
  // a turned photo and stood up the wrong way by that turn are all stood up right by BlazeFace).
  const std::size_t checked = std::min(found.size(), kMaxOrientationChecks);
  if (checked == 0) return found;
  std::vector<cv::Rect2d> boxes;
  std::vector<bool> on_its_side;
  for (std::size_t i = 0; i < checked; ++i) {
    boxes.push_back(found[i].box);
    on_its_side.push_back(found_upright ? !impl_->main.found_by_tiny(found[i].box) &&
                                              lies_on_its_side(*impl_->orientation, rgb, found[i].box)
                                        : found[i].upright_turns % 2 == 1);
  }
  const auto turns = impl_->upright->upright_turns(rgb, boxes, on_its_side);
  for (std::size_t i = 0; i < checked; ++i)
    if (turns[i] != 0) found[i].upright_turns = turns[i];
  return found;
}

std::vector<Detection> RecallFaceDetector::detect_turned(const cv::Mat& rgb) {
  // Clockwise quarter, counter-clockwise quarter, then upside down: sideways phone photos are the common
  // case. Every turn is tried so that a spurious face in one cannot win over the real face in another.
  std::vector<Detection> found;
  for (const int turns : {1, 3, 2}) {
    auto turned = detect_upright(turn_clockwise(rgb, turns));
    if (turned.empty() || turned.front().score < kTurnedPhotoMinScore ||
        (!found.empty() && turned.front().score <= found.front().score))
      continue;
    for (auto& d : turned) {
      d.box = unturn_box(d.box, turns, rgb.size());
      d.upright_turns = turns;
    }
    found = std::move(turned);
  }
  return found;
}

std::vector<Detection> RecallFaceDetector::detect_upright(const cv::Mat& rgb) {
  const auto& o = impl_->options;
  auto found = impl_->main.detect(rgb);
  if (found.empty() && o.border_retry_fraction > 0)
    found = detect_in_border(impl_->main, rgb, o.border_retry_fraction);
  if (!found.empty() || !o.retry_low_light || !is_low_light(rgb)) return found;
  const cv::Mat bright = enhance_low_light(rgb, kEnhancedMaxSide);
  found = impl_->retry.detect(bright);
  // A dark face that fills the frame needs both.
  if (found.empty() && o.border_retry_fraction > 0)
    found = detect_in_border(impl_->retry, bright, o.border_retry_fraction);
  const double sx = static_cast<double>(rgb.cols) / bright.cols,
               sy = static_cast<double>(rgb.rows) / bright.rows;
  for (auto& d : found) d.box = cv::Rect2d(d.box.x * sx, d.box.y * sy, d.box.width * sx, d.box.height * sy);
  return found;
}

}  // namespace facematch
