#include "detect/upright_judge.hpp"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <string>

#include "facematch/error.hpp"
#include "image/face_api_resize.hpp"
#include "image/quarter_turn.hpp"
#include "models/blazeface_net.hpp"
#include "models/model_registry.hpp"
#include "models/net_runners.hpp"

namespace facematch {
namespace {

constexpr std::size_t kRow = 1 + models::kBlazeFaceRegressors;
// BlazeFace short-range expects a face of about half its input (selfie framing): the square around a
// face is this many times the face box's longer side.
constexpr double kCropFactor = 1.5;
// Measured with bench/orientation_study on the faces of the recall set (300 calibration photos, 14
// variants; docs/detection-recall.md), BlazeFace seeing each face's square at 64 pixels, in fp32 and bf16
// alike: a face is upside down when its logit turned over beats the logit as it is by 0.5 (no upright or
// rolled face of 3,326 was turned, 232 of 233 upside-down ones were stood up); as it is, no upside-down
// face scored above 1.77, while 88% of upright faces score above 2.0, which spares them the second look.
// (Quarter turns are left to the tiny detector: at 64 pixels an upright face scored a quarter turn up to
// 2.07 above upright, and a margin that high stands up 53 of 467 faces on their side; at 128 pixels the
// look costs three times as much.)
constexpr float kUpsideDownMargin = 0.5f;
constexpr float kSurelyUpright = 2.0f;
// A face lies on its side when the line between BlazeFace's eyes is this many degrees off level or more
// (and as far from level the other way round), read from a look that scores it at least
// kSidewaysMinLogit. Measured with bench/orientation_study (eye_angle_0, blaze_0; 4,026 faces): no face
// of the upright variants reads 54 degrees or more except one rolled 30 more than its own 52 (read 81,
// which a quarter turn brings within 9 of upright); 391 of the 467 faces on their side read at least 60
// the right way, 10 the wrong way; the floor keeps out the one upside-down face that read sideways (at
// logit 0.05; upside-down faces read level otherwise, BlazeFace taking the right eye for the left).
constexpr float kSidewaysEyeAngle = 60.f;
constexpr float kSidewaysMinLogit = 0.3f;
// A face not surely upright whose eyes read less than kSidewaysEyeAngle off level also lies on its side
// when BlazeFace scores it stood up a quarter (the better side) this much above as it is and above turned
// over, and its eyes read at least kLeaningEyeAngle off level. Measured with bench/orientation_study on
// the 4,026 faces: the upright or rolled faces not surely upright scored a quarter turn at most 1.47
// above as they are where their eyes read 20 degrees or more (1.52 below, and upside-down faces, whose
// eyes read level, up to 2.5); the rule stands up 20 of the 66 faces on their side the eyes' rule
// leaves, all to the right side, and turns no upright or upside-down face.
constexpr float kLeaningMargin = 1.75f;
constexpr float kLeaningEyeAngle = 20.f;

// The anchors' centres in input pixels, in the net's output order (stride-8 map, 2 each; stride-16 map,
// 6 each).
std::vector<cv::Point2f> anchor_centres(int size) {
  std::vector<cv::Point2f> centres;
  for (const auto& [cells, per_cell] : {std::pair{size / 8, 2}, std::pair{size / 16, 6}}) {
    const float stride = static_cast<float>(size) / cells;
    for (int y = 0; y < cells; ++y)
      for (int x = 0; x < cells; ++x)
        for (int a = 0; a < per_cell; ++a) centres.emplace_back(stride * (x + 0.5f), stride * (y + 0.5f));
  }
  return centres;
}

}  // namespace

struct UprightJudge::State {
  int size;
  models::NetRunners runners;
  std::vector<cv::Point2f> anchors;
};

UprightJudge::UprightJudge(std::shared_ptr<const Models> models, int input_size) {
  if (!models) throw Error(ErrorCode::internal, "UprightJudge needs loaded models");
  const int size = input_size > 0 ? input_size : models::kUprightJudgeInputSize;
  std::string key = std::string(models::kBlazeFaceModel) + "@" + std::to_string(size);
  state_.reset(new State{size,
                         models::NetRunners(std::move(models), std::move(key),
                                            [size](const Models& m) {
                                              return models::describe_blazeface(
                                                  m.weights(models::kBlazeFaceModel), size);
                                            }),
                         anchor_centres(size)});
  state_->runners(1);  // compile now, so a bad model or size fails here
}

UprightJudge::~UprightJudge() = default;

namespace {

const InputNormalization& normalization() {
  return models::model_spec(models::kBlazeFaceModel).normalization;
}

std::vector<float> objects_of(const engine::NetRunner& runner, int item) {
  const auto part = [&](std::size_t output) {
    const auto all = runner.output(output);
    const std::size_t each = all.size() / static_cast<std::size_t>(runner.net().batch());
    return all.subspan(static_cast<std::size_t>(item) * each, each);
  };
  return models::blazeface_objects(part(0), part(1), part(2), part(3));
}

}  // namespace

std::vector<float> UprightJudge::objects(std::span<const float> pixels) {
  const int size = state_->size;
  if (pixels.size() != static_cast<std::size_t>(size) * size * 3)
    throw Error(ErrorCode::invalid_argument,
                "BlazeFace input must be " + std::to_string(size) + "x" + std::to_string(size) + "x3 floats");
  const cv::Mat view(size, size, CV_32FC3, const_cast<float*>(pixels.data()));
  auto& runner = state_->runners(1);
  normalize_hwc(view, normalization(), runner.input());
  runner.run();
  return objects_of(runner, 0);
}

cv::Mat UprightJudge::face_square(const cv::Mat& rgb, const cv::Rect2d& box) const {
  const int size = state_->size;
  const int side = static_cast<int>(std::lround(kCropFactor * std::max(box.width, box.height)));
  const cv::Point2d centre(box.x + box.width / 2, box.y + box.height / 2);
  const cv::Rect want(cv::Point(static_cast<int>(std::floor(centre.x - side / 2.0)),
                                static_cast<int>(std::floor(centre.y - side / 2.0))),
                      cv::Size(std::max(side, 1), std::max(side, 1)));
  const cv::Mat region = region_with_black_border(rgb, want);
  if (region.empty()) return {};
  // Bilinear to twice the input, then halved by area: 4 bilinear samples per pixel the net sees. An area
  // resize of the whole square reads every pixel of it, which took 0.18 ms per face of sample1 (more
  // than a third of the judge's time) against 0.06; the margins below were measured on these pixels.
  cv::Mat twice, square;
  cv::resize(region, twice, cv::Size(2 * size, 2 * size), 0, 0, cv::INTER_LINEAR);
  cv::resize(twice, square, cv::Size(size, size), 0, 0, cv::INTER_AREA);
  cv::Mat pixels;
  square.convertTo(pixels, CV_32FC3);
  return pixels;
}

std::vector<UprightJudge::Look> UprightJudge::square_looks(std::span<const cv::Mat> squares,
                                                           std::span<const int> turns) {
  if (squares.size() != turns.size() || squares.empty())
    throw Error(ErrorCode::internal, "square_looks takes one turn per square");
  std::vector<Look> looks(squares.size());
  std::vector<std::size_t> seen;  // the squares inside the photo, in batch order
  for (std::size_t i = 0; i < squares.size(); ++i)
    if (!squares[i].empty()) seen.push_back(i);
  if (seen.empty()) return looks;
  const int size = state_->size;
  auto& runner = state_->runners(static_cast<int>(seen.size()));
  const auto input = runner.input();
  const std::size_t each = static_cast<std::size_t>(size) * size * 3;
  for (std::size_t item = 0; item < seen.size(); ++item)
    normalize_hwc(turn_clockwise(squares[seen[item]], turns[seen[item]]), normalization(),
                  input.subspan(item * each, each));
  runner.run();
  // Only a face about the centre counts: the square may hold a neighbour's face too.
  const float unit = static_cast<float>(size) / models::kBlazeFaceInputSize;
  const cv::Rect2f centre_half(size * 0.25f, size * 0.25f, size * 0.5f, size * 0.5f);
  for (std::size_t item = 0; item < seen.size(); ++item) {
    const auto objects = objects_of(runner, static_cast<int>(item));
    Look& look = looks[seen[item]];
    for (std::size_t a = 0; a < state_->anchors.size(); ++a) {
      const float* row = objects.data() + a * kRow;
      // The regressors are in units of the 128-pixel input the net was trained at.
      const cv::Point2f face(state_->anchors[a].x + row[1] * unit, state_->anchors[a].y + row[2] * unit);
      if (!centre_half.contains(face) || !(row[0] > look.logit)) continue;
      look.logit = row[0];
      // Keypoints 0 and 1, after the box's four regressors: the right eye, then the left.
      look.eye_angle_deg = static_cast<float>(std::atan2(row[8] - row[6], row[7] - row[5]) * 180 / CV_PI);
    }
  }
  return looks;
}

std::vector<UprightJudge::Look> UprightJudge::turn_looks(const cv::Mat& rgb, const cv::Rect2d& box,
                                                         std::span<const int> turns) {
  if (turns.empty() || turns.size() > 4) throw Error(ErrorCode::internal, "turn_looks takes 1 to 4 turns");
  const std::vector<cv::Mat> squares(turns.size(), face_square(rgb, box));
  return square_looks(squares, turns);
}

std::vector<int> UprightJudge::upright_turns(const cv::Mat& rgb, std::span<const cv::Rect2d> boxes,
                                             const std::vector<bool>& on_its_side) {
  if (!on_its_side.empty() && on_its_side.size() != boxes.size())
    throw Error(ErrorCode::internal, "upright_turns takes one on_its_side verdict per face");
  std::vector<int> result(boxes.size(), 0);
  std::vector<cv::Mat> squares;
  for (const auto& box : boxes) squares.push_back(face_square(rgb, box));
  enum class Doubt { none, which_side, which_way };
  std::vector<Doubt> doubt(boxes.size(), Doubt::none);
  std::vector<Look> as_it_is(boxes.size());
  // First run: the faces not known to lie on their side, as they are.
  std::vector<cv::Mat> first;
  std::vector<std::size_t> first_of;
  for (std::size_t i = 0; i < boxes.size(); ++i) {
    if (squares[i].empty()) continue;
    if (!on_its_side.empty() && on_its_side[i]) {
      doubt[i] = Doubt::which_side;
      continue;
    }
    first.push_back(squares[i]);
    first_of.push_back(i);
  }
  if (!first.empty()) {
    const auto looks = square_looks(first, std::vector<int>(first.size(), 0));
    for (std::size_t k = 0; k < first.size(); ++k) {
      const std::size_t i = first_of[k];
      const float angle = std::abs(looks[k].eye_angle_deg);
      as_it_is[i] = looks[k];
      // Eyes level within kSidewaysEyeAngle either way up: upright, or upside down (BlazeFace reads an
      // upside-down face's eyes level too, its right eye taken for the left).
      if (looks[k].logit >= kSidewaysMinLogit && angle >= kSidewaysEyeAngle &&
          angle <= 180 - kSidewaysEyeAngle)
        doubt[i] = Doubt::which_side;
      else if (!(looks[k].logit > kSurelyUpright))
        doubt[i] = Doubt::which_way;
    }
  }
  // Second run: each face on its side turned a quarter both ways, each doubtful one every other way.
  std::vector<cv::Mat> second;
  std::vector<int> second_turns;
  static constexpr int kBothSides[] = {1, 3}, kOtherWays[] = {1, 2, 3};
  for (std::size_t i = 0; i < boxes.size(); ++i) {
    if (doubt[i] == Doubt::none) continue;
    for (const int t : doubt[i] == Doubt::which_side ? std::span<const int>(kBothSides) : kOtherWays) {
      second.push_back(squares[i]);
      second_turns.push_back(t);
    }
  }
  if (second.empty()) return result;
  const auto looks = square_looks(second, second_turns);
  std::size_t k = 0;
  for (std::size_t i = 0; i < boxes.size(); ++i) {
    if (doubt[i] == Doubt::which_side) {
      // Both detectors' eyes and scores tell a face on its side from an upright one better than they
      // tell its two sides apart; the score of each side stood up tells them apart best (of 16 faces
      // on their side that the tiny look and the eyes put on opposite sides, it was right on 16).
      result[i] = looks[k].logit >= looks[k + 1].logit ? 1 : 3;
      k += 2;
    } else if (doubt[i] == Doubt::which_way) {
      const float turned_over = looks[k + 1].logit;
      const Look& side = looks[k].logit >= looks[k + 2].logit ? looks[k] : looks[k + 2];
      const float angle = std::abs(as_it_is[i].eye_angle_deg);
      if (side.logit > as_it_is[i].logit + kLeaningMargin && side.logit > turned_over &&
          angle >= kLeaningEyeAngle && angle <= 180 - kLeaningEyeAngle)
        result[i] = &side == &looks[k] ? 1 : 3;
      else if (turned_over > as_it_is[i].logit + kUpsideDownMargin)
        result[i] = 2;
      k += 3;
    }
  }
  return result;
}

}  // namespace facematch
