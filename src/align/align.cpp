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
  const cv::Rect crop = clip_and_floor(cv::Rect2d(faceapi_chip_rect(face, rgb.cols, rgb.rows)), rgb.cols, rgb.rows);
  if (crop.width <= 0 || crop.height <= 0) throw Error(ErrorCode::no_face, "the face lies outside the image");
  return face_api_net_input(rgb(crop), kChipSize, /*center=*/true);
}

// dlib's mean face (get_face_chip_details): positions of landmarks 17..67 in a unit square.
constexpr double kMeanFaceX[51] = {
    0.000213256, 0.0752622, 0.18113,  0.29077,  0.393397, 0.586856, 0.689483, 0.799124, 0.904991, 0.98004,
    0.490127,    0.490127,  0.490127, 0.490127, 0.36688,  0.426036, 0.490127, 0.554217, 0.613373, 0.121737,
    0.187122,    0.265825,  0.334606, 0.260918, 0.182743, 0.645647, 0.714428, 0.793132, 0.858516, 0.79751,
    0.719335,    0.254149,  0.340985, 0.428858, 0.490127, 0.551395, 0.639268, 0.726104, 0.642159, 0.556721,
    0.490127,    0.423532,  0.338094, 0.290379, 0.428096, 0.490127, 0.552157, 0.689874, 0.553364, 0.490127,
    0.42689};
constexpr double kMeanFaceY[51] = {
    0.106454, 0.038915, 0.0187482, 0.0344891, 0.0773906, 0.0773906, 0.0344891, 0.0187482, 0.038915, 0.106454,
    0.203352, 0.307009, 0.409805,  0.515625,  0.587326,  0.609345,  0.628106,  0.609345,  0.587326, 0.216423,
    0.178758, 0.179852, 0.231733,  0.245099,  0.244077,  0.231733,  0.179852,  0.178758,  0.216423, 0.244077,
    0.245099, 0.780233, 0.745405,  0.727388,  0.742578,  0.727388,  0.745405,  0.780233,  0.864805, 0.902192,
    0.909281, 0.902192, 0.864805,  0.784792,  0.778746,  0.785343,  0.778746,  0.784792,  0.824182, 0.831803,
    0.824182};
constexpr double kChipPadding = 0.25;  // dlib's dnn_face_recognition_ex uses get_face_chip_details(shape, 150, 0.25)

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
  return {a, -b, mean_to.x - (a * mean_from.x - b * mean_from.y), b, a, mean_to.y - (b * mean_from.x + a * mean_from.y)};
}

cv::Mat similarity_chip(const cv::Mat& rgb, const Face& face) {
  std::vector<cv::Point2d> image_pts, chip_pts;
  for (int i = 17; i < 68; ++i) {
    if (i <= 26 || (55 <= i && i <= 59) || (65 <= i && i <= 67)) continue;  // dlib skips brows and lower lip
    image_pts.push_back(face.landmarks[static_cast<std::size_t>(i)]);
    chip_pts.emplace_back((kChipPadding + kMeanFaceX[i - 17]) / (2 * kChipPadding + 1) * kChipSize,
                          (kChipPadding + kMeanFaceY[i - 17]) / (2 * kChipPadding + 1) * kChipSize);
  }
  cv::Matx23d image_to_chip = fit_similarity(image_pts, chip_pts);
  const double scale = std::hypot(image_to_chip(0, 0), image_to_chip(1, 0));
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
      min_x = std::min(min_x, x), max_x = std::max(max_x, x), min_y = std::min(min_y, y), max_y = std::max(max_y, y);
    }
    const cv::Rect roi = cv::Rect(cv::Point(static_cast<int>(std::floor(min_x)) - 2, static_cast<int>(std::floor(min_y)) - 2),
                                  cv::Point(static_cast<int>(std::ceil(max_x)) + 2, static_cast<int>(std::ceil(max_y)) + 2)) &
                         cv::Rect(0, 0, rgb.cols, rgb.rows);
    if (roi.area() > 0) {
      const double shrink = 0.5 / scale;
      cv::resize(rgb(roi), source, cv::Size(), 1.0 / shrink, 1.0 / shrink, cv::INTER_AREA);
      // Source pixel u sits at image x = roi.x + (u + 0.5) * sx - 0.5 (pixel centres), likewise for y.
      const double sx = static_cast<double>(roi.width) / source.cols, sy = static_cast<double>(roi.height) / source.rows;
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

std::string_view to_string(AlignMode mode) { return mode == AlignMode::faceapi ? "faceapi" : "similarity"; }

AlignMode parse_align(std::string_view name) {
  if (name == "faceapi") return AlignMode::faceapi;
  if (name == "similarity") return AlignMode::similarity;
  throw Error(ErrorCode::invalid_argument, "unknown alignment '" + std::string(name) + "' (use faceapi or similarity)");
}

cv::Rect faceapi_chip_rect(const Face& face, int image_w, int image_h) {
  const auto& pts = face.landmarks;
  const cv::Point2d left_eye = center_of(pts, 36, 41), right_eye = center_of(pts, 42, 47), mouth = center_of(pts, 48, 67);
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
  if (rgb.empty() || rgb.type() != CV_8UC3) throw Error(ErrorCode::internal, "extract_chip needs an 8-bit RGB image");
  return mode == AlignMode::faceapi ? faceapi_chip(rgb, face) : similarity_chip(rgb, face);
}

}  // namespace facematch
