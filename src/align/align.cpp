#include "facematch/align.hpp"

#include <cmath>
#include <numeric>
#include <opencv2/imgproc.hpp>

#include "facematch/error.hpp"
#include "image/face_api_resize.hpp"

namespace facematch {
namespace {

cv::Point2d center_of(const Landmarks68& pts, int first, int last) {
  // getCenterPoint: a running sum in point order, then one division (kept for bit-equal rects).
  cv::Point2d sum(0, 0);
  for (int i = first; i <= last; ++i) sum += pts[static_cast<std::size_t>(i)];
  const double n = last - first + 1;
  return {sum.x / n, sum.y / n};
}

cv::Mat faceapi_chip(const cv::Mat& rgb, const Face& face) {
  const cv::Rect crop =
      clip_and_floor(cv::Rect2d(faceapi_chip_rect(face, rgb.cols, rgb.rows)), rgb.cols, rgb.rows);
  if (crop.width <= 0 || crop.height <= 0) throw Error(ErrorCode::no_face, "the face lies outside the image");
  return face_api_net_input(rgb(crop), kChipSize, /*center=*/true);
}

// dlib's mean face (get_face_chip_details): positions of landmarks 17..67 in a unit square.
constexpr double kMeanFaceX[51] = {
    0.000213256, 0.0752622, 0.18113,  0.29077,  0.393397, 0.586856, 0.689483, 0.799124, 0.904991,
    0.98004,     0.490127,  0.490127, 0.490127, 0.490127, 0.36688,  0.426036, 0.490127, 0.554217,
    0.613373,    0.121737,  0.187122, 0.265825, 0.334606, 0.260918, 0.182743, 0.645647, 0.714428,
    0.793132,    0.858516,  0.79751,  0.719335, 0.254149, 0.340985, 0.428858, 0.490127, 0.551395,
    0.639268,    0.726104,  0.642159, 0.556721, 0.490127, 0.423532, 0.338094, 0.290379, 0.428096,
    0.490127,    0.552157,  0.689874, 0.553364, 0.490127, 0.42689};
constexpr double kMeanFaceY[51] = {
    0.106454, 0.038915, 0.0187482, 0.0344891, 0.0773906, 0.0773906, 0.0344891, 0.0187482, 0.038915,
    0.106454, 0.203352, 0.307009,  0.409805,  0.515625,  0.587326,  0.609345,  0.628106,  0.609345,
    0.587326, 0.216423, 0.178758,  0.179852,  0.231733,  0.245099,  0.244077,  0.231733,  0.179852,
    0.178758, 0.216423, 0.244077,  0.245099,  0.780233,  0.745405,  0.727388,  0.742578,  0.727388,
    0.745405, 0.780233, 0.864805,  0.902192,  0.909281,  0.902192,  0.864805,  0.784792,  0.778746,
    0.785343, 0.778746, 0.784792,  0.824182,  0.831803,  0.824182};
constexpr double kChipPadding =
    0.25;  // dlib's dnn_face_recognition_ex uses get_face_chip_details(shape, 150, 0.25)

// Least-squares similarity transform mapping `from` onto `to` (closed form, Umeyama without reflection).
cv::Matx23d fit_similarity(const std::vector<cv::Point2d>& from, const std::vector<cv::Point2d>& to) {
  const double n = static_cast<double>(from.size());
  cv::Point2d mean_from(0, 0), mean_to(0, 0);
  for (std::size_t i = 0; i < from.size(); ++i) {
    mean_from += from[i];
    mean_to += to[i];
  }
  mean_from *= 1.0 / n;
  mean_to *= 1.0 / n;
  double a = 0, b = 0, var = 0;  // to ~ [a -b; b a] * from
  for (std::size_t i = 0; i < from.size(); ++i) {
    const cv::Point2d p = from[i] - mean_from, q = to[i] - mean_to;
    a += p.x * q.x + p.y * q.y;
    b += p.x * q.y - p.y * q.x;
    var += p.x * p.x + p.y * p.y;
  }
  a /= var;
  b /= var;
  return {a, -b, mean_to.x - (a * mean_from.x - b * mean_from.y),
          b, a,  mean_to.y - (b * mean_from.x + a * mean_from.y)};
}

// Least-squares affine transform mapping `from` onto `to` (normal equations, one row of the map at a time).
cv::Matx23d fit_affine(const std::vector<cv::Point2d>& from, const std::vector<cv::Point2d>& to) {
  cv::Matx33d normal = cv::Matx33d::zeros();
  cv::Vec3d rhs_x(0, 0, 0), rhs_y(0, 0, 0);
  for (std::size_t i = 0; i < from.size(); ++i) {
    const cv::Vec3d p(from[i].x, from[i].y, 1);
    normal += p * p.t();
    rhs_x += p * to[i].x;
    rhs_y += p * to[i].y;
  }
  cv::Vec3d row_x, row_y;
  if (!cv::solve(normal, rhs_x, row_x, cv::DECOMP_CHOLESKY) ||
      !cv::solve(normal, rhs_y, row_y, cv::DECOMP_CHOLESKY))
    throw Error(ErrorCode::no_face, "degenerate face landmarks");
  return {row_x[0], row_x[1], row_x[2], row_y[0], row_y[1], row_y[2]};
}

double fit_residual(const cv::Matx23d& m, const std::vector<cv::Point2d>& from,
                    const std::vector<cv::Point2d>& to) {
  double sum = 0;
  for (std::size_t i = 0; i < from.size(); ++i) {
    const cv::Point2d q(m(0, 0) * from[i].x + m(0, 1) * from[i].y + m(0, 2),
                        m(1, 0) * from[i].x + m(1, 1) * from[i].y + m(1, 2));
    const cv::Point2d d = q - to[i];
    sum += d.dot(d);
  }
  return sum;
}

// The similarity transform after the stretch of the image's x axis that fits best: a photo resized to a
// square whatever its aspect ratio (the original API's clients do) squashes every face along the image's
// own axes, which a similarity cannot undo. The stretch is searched over [1/kMaxStretch, kMaxStretch].
constexpr double kMaxStretch = 3.0;
cv::Matx23d fit_unsquash(const std::vector<cv::Point2d>& from, const std::vector<cv::Point2d>& to) {
  const auto fit_at = [&](double log_stretch) {
    const double k = std::exp(log_stretch);
    std::vector<cv::Point2d> stretched(from);
    for (auto& p : stretched) p.x *= k;
    cv::Matx23d m = fit_similarity(stretched, to);
    const double residual = fit_residual(m, stretched, to);
    m(0, 0) *= k;
    m(1, 0) *= k;
    return std::pair{residual, m};
  };
  // The residual of the best similarity is unimodal in the stretch over this range for face-shaped
  // landmarks; a golden-section search finds its minimum to 1e-4 in log stretch in 30 steps.
  const double golden = (std::sqrt(5.0) - 1) / 2;
  double lo = -std::log(kMaxStretch), hi = std::log(kMaxStretch);
  double a = hi - golden * (hi - lo), b = lo + golden * (hi - lo);
  double fa = fit_at(a).first, fb = fit_at(b).first;
  for (int step = 0; step < 30; ++step) {
    if (fa < fb) {
      hi = b, b = a, fb = fa, a = hi - golden * (hi - lo), fa = fit_at(a).first;
    } else {
      lo = a, a = b, fa = fb, b = lo + golden * (hi - lo), fb = fit_at(b).first;
    }
  }
  return fit_at((lo + hi) / 2).second;
}

cv::Mat dlib_chip(const cv::Mat& rgb, const Face& face, AlignMode mode) {
  std::vector<cv::Point2d> image_pts, chip_pts;
  for (int i = 17; i < 68; ++i) {
    if (i <= 26 || (55 <= i && i <= 59) || (65 <= i && i <= 67)) continue;  // dlib skips brows and lower lip
    image_pts.push_back(face.landmarks[static_cast<std::size_t>(i)]);
    chip_pts.emplace_back((kChipPadding + kMeanFaceX[i - 17]) / (2 * kChipPadding + 1) * kChipSize,
                          (kChipPadding + kMeanFaceY[i - 17]) / (2 * kChipPadding + 1) * kChipSize);
  }
  cv::Matx23d image_to_chip = mode == AlignMode::affine     ? fit_affine(image_pts, chip_pts)
                              : mode == AlignMode::unsquash ? fit_unsquash(image_pts, chip_pts)
                                                            : fit_similarity(image_pts, chip_pts);
  const double scale = std::sqrt(
      std::abs(image_to_chip(0, 0) * image_to_chip(1, 1) - image_to_chip(0, 1) * image_to_chip(1, 0)));
  if (!(scale > 0) || !std::isfinite(scale)) throw Error(ErrorCode::no_face, "degenerate face landmarks");

  // Bilinear warping of a much larger face aliases; like dlib's pyramid step, shrink the face's
  // neighbourhood with area averaging first so the warp scales by at most 2.
  cv::Mat source = rgb;
  if (scale < 0.5) {
    cv::Matx23d chip_to_image;
    cv::invertAffineTransform(image_to_chip, chip_to_image);
    double min_x = 1e300, min_y = 1e300, max_x = -1e300, max_y = -1e300;
    for (const cv::Point2d corner : {cv::Point2d(0, 0), cv::Point2d(kChipSize, 0), cv::Point2d(0, kChipSize),
                                     cv::Point2d(kChipSize, kChipSize)}) {
      const double x = chip_to_image(0, 0) * corner.x + chip_to_image(0, 1) * corner.y + chip_to_image(0, 2);
      const double y = chip_to_image(1, 0) * corner.x + chip_to_image(1, 1) * corner.y + chip_to_image(1, 2);
      min_x = std::min(min_x, x), max_x = std::max(max_x, x), min_y = std::min(min_y, y),
      max_y = std::max(max_y, y);
    }
    const cv::Rect roi =
        cv::Rect(cv::Point(static_cast<int>(std::floor(min_x)) - 2, static_cast<int>(std::floor(min_y)) - 2),
                 cv::Point(static_cast<int>(std::ceil(max_x)) + 2, static_cast<int>(std::ceil(max_y)) + 2)) &
        cv::Rect(0, 0, rgb.cols, rgb.rows);
    if (roi.area() > 0) {
      const double shrink = 0.5 / scale;
      cv::resize(rgb(roi), source, cv::Size(), 1.0 / shrink, 1.0 / shrink, cv::INTER_AREA);
      // Source pixel u sits at image x = roi.x + (u + 0.5) * sx - 0.5 (pixel centres), likewise for y.
      const double sx = static_cast<double>(roi.width) / source.cols,
                   sy = static_cast<double>(roi.height) / source.rows;
      const cv::Point2d origin(roi.x + 0.5 * (sx - 1), roi.y + 0.5 * (sy - 1));
      cv::Matx23d adjusted = image_to_chip;
      adjusted(0, 2) += image_to_chip(0, 0) * origin.x + image_to_chip(0, 1) * origin.y;
      adjusted(1, 2) += image_to_chip(1, 0) * origin.x + image_to_chip(1, 1) * origin.y;
      adjusted(0, 0) *= sx;
      adjusted(1, 0) *= sx;
      adjusted(0, 1) *= sy;
      adjusted(1, 1) *= sy;
      image_to_chip = adjusted;
    }
  }
  cv::Mat chip;
  cv::warpAffine(source, chip, cv::Mat(image_to_chip), cv::Size(kChipSize, kChipSize), cv::INTER_LINEAR,
                 cv::BORDER_CONSTANT, cv::Scalar::all(0));
  cv::Mat out;
  chip.convertTo(out, CV_32FC3);
  return out;
}

}  // namespace

double mean_face_misfit(const Landmarks68& landmarks) {
  std::vector<cv::Point2d> image_pts, mean_pts;
  for (int i = 17; i < 68; ++i) {
    image_pts.push_back(landmarks[static_cast<std::size_t>(i)]);
    mean_pts.emplace_back(kMeanFaceX[i - 17], kMeanFaceY[i - 17]);
  }
  const cv::Matx23d image_to_mean = fit_similarity(image_pts, mean_pts);
  const double residual = fit_residual(image_to_mean, image_pts, mean_pts);
  return std::isfinite(residual) ? std::sqrt(residual / static_cast<double>(image_pts.size())) : 1.0;
}

std::string_view to_string(AlignMode mode) {
  switch (mode) {
    case AlignMode::faceapi:
      return "faceapi";
    case AlignMode::similarity:
      return "similarity";
    case AlignMode::unsquash:
      return "unsquash";
    case AlignMode::affine:
      return "affine";
  }
  return "similarity";
}

AlignMode parse_align(std::string_view name) {
  for (const AlignMode mode :
       {AlignMode::faceapi, AlignMode::similarity, AlignMode::unsquash, AlignMode::affine})
    if (name == to_string(mode)) return mode;
  throw Error(ErrorCode::invalid_argument,
              "unknown alignment '" + std::string(name) + "' (use faceapi, similarity, unsquash or affine)");
}

cv::Rect faceapi_chip_rect(const Face& face, int image_w, int image_h) {
  const auto& pts = face.landmarks;
  const cv::Point2d left_eye = center_of(pts, 36, 41), right_eye = center_of(pts, 42, 47),
                    mouth = center_of(pts, 48, 67);
  const double eye_to_mouth = (cv::norm(mouth - left_eye) + cv::norm(mouth - right_eye)) / 2;
  const int size = static_cast<int>(std::floor(eye_to_mouth / 0.45));
  const cv::Point2d sum = left_eye + right_eye + mouth;
  const cv::Point2d ref(sum.x / 3, sum.y / 3);
  const int x = static_cast<int>(std::floor(std::max(0.0, ref.x - 0.5 * size)));
  const int y = static_cast<int>(std::floor(std::max(0.0, ref.y - 0.43 * size)));
  // face-api bounds the size by the landmark crop's dimensions plus the offset (its "+" is kept).
  const cv::Rect landmark_crop = clip_and_floor(face.detection.box, image_w, image_h);
  return {x, y, std::min(size, landmark_crop.width + x), std::min(size, landmark_crop.height + y)};
}

cv::Mat extract_chip(const cv::Mat& rgb, const Face& face, AlignMode mode) {
  if (rgb.empty() || rgb.type() != CV_8UC3)
    throw Error(ErrorCode::internal, "extract_chip needs an 8-bit RGB image");
  return mode == AlignMode::faceapi ? faceapi_chip(rgb, face) : dlib_chip(rgb, face, mode);
}

}  // namespace facematch
