#include "facematch/quality.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <opencv2/imgproc.hpp>

#include "facematch/align.hpp"
#include "facematch/error.hpp"

namespace facematch {
namespace {

constexpr double kDegreesPerRadian = 180.0 / std::numbers::pi;

cv::Point2d mean_of(const Landmarks68& pts, int first, int last) {
  cv::Point2d sum(0, 0);
  for (int i = first; i <= last; ++i) sum += pts[static_cast<std::size_t>(i)];
  return sum * (1.0 / (last - first + 1));
}

// A generic adult face (centimetres; x towards the image's right, y down, z away from the camera, so a
// frontal face has the identity rotation) at 14 landmarks that the 68-point net places reliably: brow
// ends, eye corners, nostrils, mouth corners, lower lip and chin. The values are the widely used
// head-pose model of lincolnhard/head-pose-estimation (MIT), turned into these axes.
struct ModelPoint {
  int landmark;
  double x, y, z;
};
constexpr std::array<ModelPoint, 14> kGenericFace = {{
    {17, -6.825897, -6.760612, -4.402142},  // brow, outer end (image left)
    {21, -1.330353, -7.122144, -6.903745},  // brow, inner end
    {22, 1.330353, -7.122144, -6.903745},
    {26, 6.825897, -6.760612, -4.402142},
    {36, -5.311432, -5.485328, -3.987654},  // eye, outer corner
    {39, -1.789930, -5.393625, -4.413414},  // eye, inner corner
    {42, 1.789930, -5.393625, -4.413414},
    {45, 5.311432, -5.485328, -3.987654},
    {31, -2.005628, -1.409845, -6.165652},  // nostril
    {35, 2.005628, -1.409845, -6.165652},
    {48, -2.774015, 2.080775, -5.048531},  // mouth corner
    {54, 2.774015, 2.080775, -5.048531},
    {57, 0.000000, 3.116408, -6.097667},  // lower lip, centre
    {8, 0.000000, 7.415691, -4.070434},   // chin
}};

// The generic model's brows, nose and chin make a level face measure about 9 degrees down: the median
// raw pitch of the 2,745 calibration faces (bench/quality_study.cpp) is -9.0. Pitch is given from there,
// so 0 is the typical portrait.
constexpr double kPitchOffsetDeg = 9.0;

struct Pose {
  double yaw_deg = 0, pitch_deg = 0;
};

// Scaled orthographic fit: the 2x3 linear map A taking the centred model onto the centred landmarks in
// the least-squares sense, its nearest matrix with orthonormal rows (U V' of its SVD) as the first two
// rows of the rotation, their cross product as the third. The face points along -z in model space, so
// its direction in the camera is -R * (0, 0, 1).
Pose fit_pose(const Landmarks68& pts) {
  constexpr int n = static_cast<int>(kGenericFace.size());
  cv::Point3d model_mean(0, 0, 0);
  cv::Point2d image_mean(0, 0);
  for (const auto& m : kGenericFace) {
    model_mean += cv::Point3d(m.x, m.y, m.z);
    image_mean += pts[static_cast<std::size_t>(m.landmark)];
  }
  model_mean *= 1.0 / n;
  image_mean *= 1.0 / n;
  cv::Matx33d model_moments = cv::Matx33d::zeros();  // sum of P P'
  cv::Matx23d cross_moments = cv::Matx23d::zeros();  // sum of p P'
  for (const auto& m : kGenericFace) {
    const cv::Vec3d p = cv::Vec3d(m.x, m.y, m.z) - cv::Vec3d(model_mean.x, model_mean.y, model_mean.z);
    const cv::Point2d q = pts[static_cast<std::size_t>(m.landmark)] - image_mean;
    model_moments += p * p.t();
    cross_moments += cv::Vec2d(q.x, q.y) * p.t();
  }
  const cv::Matx23d projection = cross_moments * model_moments.inv();
  cv::Mat w, u, vt;
  cv::SVD::compute(cv::Mat(projection), w, u, vt);  // u 2x2, vt 2x3
  const cv::Mat rows = u * vt;
  const cv::Vec3d r1(rows.at<double>(0, 0), rows.at<double>(0, 1), rows.at<double>(0, 2));
  const cv::Vec3d r2(rows.at<double>(1, 0), rows.at<double>(1, 1), rows.at<double>(1, 2));
  const cv::Vec3d r3 = r1.cross(r2);
  const cv::Vec3d forward = -cv::Vec3d(r1[2], r2[2], r3[2]);  // camera: x right, y down, z away
  if (!std::isfinite(forward[0] + forward[1] + forward[2])) return {};
  Pose pose;
  pose.yaw_deg = std::atan2(forward[0], -forward[2]) * kDegreesPerRadian;
  pose.pitch_deg =
      std::atan2(-forward[1], std::hypot(forward[0], forward[2])) * kDegreesPerRadian + kPitchOffsetDeg;
  return pose;
}

// See FaceQuality::sharpness. The chip's inner face spans chip pixels 25..125 (dlib's mean face with
// padding 0.25 maps the landmarks' unit square there).
constexpr int kInnerFaceOrigin = 25, kInnerFaceSize = 100;
constexpr double kReblurSigma = 1.5;

double gradient_energy(const cv::Mat& grey) {
  cv::Mat dx, dy;
  cv::Sobel(grey, dx, CV_64F, 1, 0, 3);
  cv::Sobel(grey, dy, CV_64F, 0, 1, 3);
  // The border row and column of Sobel's output read the replicated edge; leave them out.
  const cv::Rect inside(1, 1, grey.cols - 2, grey.rows - 2);
  return cv::sum(dx(inside).mul(dx(inside)))[0] + cv::sum(dy(inside).mul(dy(inside)))[0];
}

double chip_sharpness(const cv::Mat& chip) {
  cv::Mat grey;
  cv::cvtColor(chip(cv::Rect(kInnerFaceOrigin, kInnerFaceOrigin, kInnerFaceSize, kInnerFaceSize)), grey,
               cv::COLOR_RGB2GRAY);
  grey.convertTo(grey, CV_64F);
  const double energy = gradient_energy(grey);
  if (!(energy > 1e-9)) return 0;
  cv::Mat reblurred;
  cv::GaussianBlur(grey, reblurred, cv::Size(0, 0), kReblurSigma, kReblurSigma, cv::BORDER_REFLECT);
  return std::clamp(1.0 - gradient_energy(reblurred) / energy, 0.0, 1.0);
}

// Mean and standard deviation of the luma inside the hull of landmarks 0-26, clipped to the image.
void face_luma(const cv::Mat& rgb, const Landmarks68& pts, FaceQuality& q) {
  std::vector<cv::Point> outline;
  for (int i = 0; i <= 26; ++i) {
    const cv::Point2d& p = pts[static_cast<std::size_t>(i)];
    // Clamped so that a wildly wrong landmark cannot overflow int; the mask clips to the image anyway.
    outline.emplace_back(static_cast<int>(std::lround(std::clamp(p.x, -1e6, 1e6))),
                         static_cast<int>(std::lround(std::clamp(p.y, -1e6, 1e6))));
  }
  std::vector<cv::Point> hull;
  cv::convexHull(outline, hull);
  const cv::Rect region = cv::boundingRect(hull) & cv::Rect(0, 0, rgb.cols, rgb.rows);
  if (region.area() == 0) return;
  cv::Mat mask = cv::Mat::zeros(region.size(), CV_8U);
  for (auto& p : hull) p -= region.tl();
  cv::fillConvexPoly(mask, hull, cv::Scalar(255));
  if (cv::countNonZero(mask) == 0) return;
  cv::Mat luma;
  cv::cvtColor(rgb(region), luma, cv::COLOR_RGB2GRAY);
  cv::Scalar mean, stddev;
  cv::meanStdDev(luma, mean, stddev, mask);
  q.brightness = mean[0];
  q.contrast = stddev[0];
}

bool inner_face_outside(const Landmarks68& pts, int width, int height) {
  return std::any_of(pts.begin() + 17, pts.end(), [&](const cv::Point2d& p) {
    return !(p.x >= 0 && p.y >= 0 && p.x < width && p.y < height);  // NaN counts as outside
  });
}

}  // namespace

std::vector<std::string> quality_reasons(const FaceQuality& q, const QualityThresholds& thresholds) {
  std::vector<std::string> reasons;
  // Written as "not within" so that a NaN measure counts as poor.
  if (!(q.interocular_px >= thresholds.min_interocular_px)) reasons.emplace_back("too_small");
  if (!(q.sharpness >= thresholds.min_sharpness)) reasons.emplace_back("blurred");
  if (!(std::abs(q.yaw_deg) <= thresholds.max_abs_yaw_deg)) reasons.emplace_back("profile");
  if (!(std::abs(q.pitch_deg) <= thresholds.max_abs_pitch_deg)) reasons.emplace_back("tilted");
  if (!(std::abs(q.roll_deg) <= thresholds.max_abs_roll_deg)) reasons.emplace_back("rotated");
  if (!(q.brightness >= thresholds.min_brightness)) reasons.emplace_back("dark");
  if (q.brightness > thresholds.max_brightness) reasons.emplace_back("overexposed");
  if (q.landmarks_outside || !(q.box_outside <= thresholds.max_box_outside)) reasons.emplace_back("cut_off");
  return reasons;
}

FaceQuality assess_face_quality(const cv::Mat& rgb, const Face& face, const cv::Mat& chip,
                                const QualityThresholds& thresholds) {
  if (rgb.empty() || rgb.type() != CV_8UC3)
    throw Error(ErrorCode::internal, "assess_face_quality needs an 8-bit RGB image");
  if (chip.type() != CV_32FC3 || chip.cols != kChipSize || chip.rows != kChipSize)
    throw Error(ErrorCode::internal, "assess_face_quality needs the 150x150 CV_32FC3 chip");
  const auto& pts = face.landmarks;
  // Pose is judged as the face stood when found: a sideways photo's face is not a rolled face.
  Landmarks68 upright = pts;
  for (int turn = 0; turn < face.detection.upright_turns; ++turn)
    for (auto& p : upright) p = {-p.y, p.x};  // a clockwise quarter turn, up to a shift
  FaceQuality q;
  const cv::Point2d left_eye = mean_of(upright, 36, 41), right_eye = mean_of(upright, 42, 47);
  q.interocular_px = cv::norm(right_eye - left_eye);
  q.roll_deg = std::atan2(right_eye.y - left_eye.y, right_eye.x - left_eye.x) * kDegreesPerRadian;
  const Pose pose = fit_pose(upright);
  q.yaw_deg = pose.yaw_deg;
  q.pitch_deg = pose.pitch_deg;
  q.sharpness = chip_sharpness(chip);
  face_luma(rgb, pts, q);
  const cv::Rect2d box = face.detection.box;
  const double inside = (box & cv::Rect2d(0, 0, rgb.cols, rgb.rows)).area();
  q.box_outside = box.area() > 0 ? std::clamp(1.0 - inside / box.area(), 0.0, 1.0) : 0.0;
  q.landmarks_outside = inner_face_outside(pts, rgb.cols, rgb.rows);

  q.reasons = quality_reasons(q, thresholds);
  q.cut_off = std::find(q.reasons.begin(), q.reasons.end(), "cut_off") != q.reasons.end();
  return q;
}

nlohmann::json to_json(const FaceQuality& q) {
  return {{"acceptable", q.acceptable()},
          {"reasons", q.reasons},
          {"interocular_px", q.interocular_px},
          {"sharpness", q.sharpness},
          {"yaw_deg", q.yaw_deg},
          {"pitch_deg", q.pitch_deg},
          {"roll_deg", q.roll_deg},
          {"brightness", q.brightness},
          {"contrast", q.contrast},
          {"box_outside", q.box_outside},
          {"landmarks_outside", q.landmarks_outside},
          {"cut_off", q.cut_off}};
}

std::string FaceQuality::reasons_text() const {
  std::string out;
  for (const auto& reason : reasons) {
    if (!out.empty()) out += ", ";
    out += reason;
  }
  return out;
}

}  // namespace facematch
