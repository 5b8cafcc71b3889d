#include "recall_set.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "facematch/error.hpp"

namespace facematch::recall {
namespace {

cv::Point2d centre(const cv::Rect2d& r) { return {r.x + r.width / 2, r.y + r.height / 2}; }

cv::Rect2d box_around(const cv::Point2d& c, double width, double height) {
  return {c.x - width / 2, c.y - height / 2, width, height};
}

void check_photo(const FaceImage& photo) {
  if (photo.rgb.empty() || photo.rgb.type() != CV_8UC3)
    throw Error(ErrorCode::invalid_argument, "recall set: expected an 8-bit RGB photo");
  if (!(photo.face.width > 0 && photo.face.height > 0))
    throw Error(ErrorCode::invalid_argument, "recall set: the face box is empty");
}

// `rect` of `rgb`, black where it lies outside.
cv::Mat crop_padded(const cv::Mat& rgb, const cv::Rect& rect) {
  cv::Mat out(rect.size(), rgb.type(), cv::Scalar::all(0));
  const cv::Rect inside = rect & cv::Rect(0, 0, rgb.cols, rgb.rows);
  if (!inside.empty()) rgb(inside).copyTo(out(inside - rect.tl()));
  return out;
}

// Downscaling averages (INTER_AREA) so that small variants are what a camera at that size would see,
// not aliased samples; upscaling interpolates.
cv::Mat resized(const cv::Mat& rgb, cv::Size size) {
  cv::Mat out;
  const bool shrinking = size.width < rgb.cols || size.height < rgb.rows;
  cv::resize(rgb, out, size, 0, 0, shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
  return out;
}

}  // namespace

double box_side(const cv::Rect2d& box) { return std::max(box.width, box.height); }

double iou(const cv::Rect2d& a, const cv::Rect2d& b) {
  const double inter = (a & b).area();
  const double uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0.0;
}

bool matches_face(const cv::Rect2d& detected, const cv::Rect2d& face) {
  if (iou(detected, face) >= 0.3) return true;
  const double ratio = box_side(detected) / box_side(face);
  return detected.contains(centre(face)) && ratio >= 0.5 && ratio <= 2.0;
}

FaceImage crop_around_face(const FaceImage& photo, double side_factor, int out_size) {
  check_photo(photo);
  const int side = std::max(1, static_cast<int>(std::lround(side_factor * box_side(photo.face))));
  const cv::Point2d c = centre(photo.face);
  const cv::Rect square(static_cast<int>(std::lround(c.x - side / 2.0)),
                        static_cast<int>(std::lround(c.y - side / 2.0)), side, side);
  const double k = static_cast<double>(out_size) / side;
  return {resized(crop_padded(photo.rgb, square), {out_size, out_size}),
          cv::Rect2d((photo.face.x - square.x) * k, (photo.face.y - square.y) * k, photo.face.width * k,
                     photo.face.height * k)};
}

FaceImage squash(const FaceImage& photo, int out_size) {
  check_photo(photo);
  cv::Mat out;
  cv::resize(photo.rgb, out, {out_size, out_size}, 0, 0, cv::INTER_LINEAR);
  const double sx = static_cast<double>(out_size) / photo.rgb.cols,
               sy = static_cast<double>(out_size) / photo.rgb.rows;
  return {out,
          cv::Rect2d(photo.face.x * sx, photo.face.y * sy, photo.face.width * sx, photo.face.height * sy)};
}

FaceImage roll(const FaceImage& photo, double degrees) {
  check_photo(photo);
  const cv::Point2d c = centre(photo.face);
  cv::Mat m =
      cv::getRotationMatrix2D(cv::Point2f(static_cast<float>(c.x), static_cast<float>(c.y)), degrees, 1.0);
  // Grow the canvas to the rotated photo's bounding box and move it into view.
  const double w = photo.rgb.cols, h = photo.rgb.rows;
  double min_x = 1e300, min_y = 1e300, max_x = -1e300, max_y = -1e300;
  for (const cv::Point2d p : std::array<cv::Point2d, 4>{{{0, 0}, {w, 0}, {0, h}, {w, h}}}) {
    const double x = m.at<double>(0, 0) * p.x + m.at<double>(0, 1) * p.y + m.at<double>(0, 2);
    const double y = m.at<double>(1, 0) * p.x + m.at<double>(1, 1) * p.y + m.at<double>(1, 2);
    min_x = std::min(min_x, x), max_x = std::max(max_x, x);
    min_y = std::min(min_y, y), max_y = std::max(max_y, y);
  }
  m.at<double>(0, 2) -= min_x;
  m.at<double>(1, 2) -= min_y;
  const cv::Size canvas(static_cast<int>(std::ceil(max_x - min_x)),
                        static_cast<int>(std::ceil(max_y - min_y)));
  cv::Mat out;
  cv::warpAffine(photo.rgb, out, m, canvas, cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar::all(0));
  const cv::Point2d moved(m.at<double>(0, 0) * c.x + m.at<double>(0, 1) * c.y + m.at<double>(0, 2),
                          m.at<double>(1, 0) * c.x + m.at<double>(1, 1) * c.y + m.at<double>(1, 2));
  return {out, box_around(moved, photo.face.width, photo.face.height), photo.upright_turns,
          photo.roll_deg + degrees};
}

bool reads_upright(const FaceImage& image, int detected_turns) {
  const double residual = std::remainder(image.roll_deg - 90.0 * detected_turns, 360.0);
  return std::abs(residual) <= 45.0 + 1e-9;
}

FaceImage turn(const FaceImage& photo, int quarter_turns_clockwise) {
  check_photo(photo);
  const double w = photo.rgb.cols, h = photo.rgb.rows;
  const cv::Rect2d& f = photo.face;
  cv::Mat out;
  switch (quarter_turns_clockwise) {
    case 1:
      cv::rotate(photo.rgb, out, cv::ROTATE_90_CLOCKWISE);  // (x, y) -> (h - y, x)
      return {out, cv::Rect2d(h - f.y - f.height, f.x, f.height, f.width), 3, photo.roll_deg - 90};
    case 2:
      cv::rotate(photo.rgb, out, cv::ROTATE_180);  // (x, y) -> (w - x, h - y)
      return {out, cv::Rect2d(w - f.x - f.width, h - f.y - f.height, f.width, f.height), 2,
              photo.roll_deg - 180};
    case 3:
      cv::rotate(photo.rgb, out, cv::ROTATE_90_COUNTERCLOCKWISE);  // (x, y) -> (y, w - x)
      return {out, cv::Rect2d(f.y, w - f.x - f.width, f.height, f.width), 1, photo.roll_deg - 270};
  }
  throw Error(ErrorCode::invalid_argument, "turn: quarter turns must be 1, 2 or 3");
}

FaceImage shrink_face_to(const FaceImage& photo, int face_width) {
  check_photo(photo);
  const double k = face_width / photo.face.width;
  const cv::Size size(std::max(1, static_cast<int>(std::lround(photo.rgb.cols * k))),
                      std::max(1, static_cast<int>(std::lround(photo.rgb.rows * k))));
  const double sx = static_cast<double>(size.width) / photo.rgb.cols,
               sy = static_cast<double>(size.height) / photo.rgb.rows;
  return {resized(photo.rgb, size),
          cv::Rect2d(photo.face.x * sx, photo.face.y * sy, photo.face.width * sx, photo.face.height * sy)};
}

double mean_luma(const cv::Mat& rgb) {
  cv::Mat grey;
  cv::cvtColor(rgb, grey, cv::COLOR_RGB2GRAY);  // BT.601 weights
  return cv::mean(grey)[0];
}

FaceImage darken(const FaceImage& photo, double target_luma, double gamma, double noise_sigma,
                 std::uint64_t seed) {
  check_photo(photo);
  cv::Mat lut(1, 256, CV_8U);
  for (int v = 0; v < 256; ++v)
    lut.at<std::uint8_t>(v) = cv::saturate_cast<std::uint8_t>(255.0 * std::pow(v / 255.0, gamma));
  cv::Mat curved;
  cv::LUT(photo.rgb, lut, curved);
  const double luma = mean_luma(curved);
  cv::Mat dark;
  curved.convertTo(dark, CV_32FC3, luma > 0 ? target_luma / luma : 1.0);
  cv::Mat noise(dark.size(), CV_32FC3);
  cv::RNG rng(seed);
  rng.fill(noise, cv::RNG::NORMAL, 0.0, noise_sigma);
  dark += noise;
  cv::Mat out;
  dark.convertTo(out, CV_8UC3);  // saturates at 0 and 255
  return {out, photo.face};
}

std::vector<Variant> standard_variants() {
  std::vector<Variant> variants = {
      {"original", [](const FaceImage& p) { return p; }},
      // LFW style: the face about 45% of the frame's width.
      {"portrait250", [](const FaceImage& p) { return crop_around_face(p, 2.2, 250); }},
      // The face fills the frame, like the crops the original API's clients send.
      {"tight224", [](const FaceImage& p) { return crop_around_face(p, 1.2, 224); }},
      {"squash224", [](const FaceImage& p) { return squash(p, 224); }},
  };
  for (const int degrees : {15, 30, 45, -15, -30, -45})
    variants.push_back(
        {"roll" + std::to_string(degrees), [degrees](const FaceImage& p) { return roll(p, degrees); }});
  for (const int quarters : {1, 2, 3})
    variants.push_back({"rot" + std::to_string(90 * quarters),
                        [quarters](const FaceImage& p) { return turn(p, quarters); }});
  for (const int width : {24, 32, 48})
    variants.push_back(
        {"face" + std::to_string(width), [width](const FaceImage& p) { return shrink_face_to(p, width); }});
  variants.push_back({"dark", [](const FaceImage& p) { return darken(p, 25, 1.5, 3, 12); }});
  return variants;
}

std::vector<NamedImage> synthetic_non_faces(const cv::Mat& face_photo) {
  const cv::Size vga(640, 480);
  std::vector<NamedImage> out;
  cv::RNG rng(12);
  for (const cv::Size size : {cv::Size(224, 224), vga}) {
    cv::Mat noise(size, CV_8UC3);
    rng.fill(noise, cv::RNG::UNIFORM, 0, 256);
    out.push_back({"noise" + std::to_string(size.width) + "x" + std::to_string(size.height), noise});
  }
  out.push_back({"black640x480", cv::Mat(vga, CV_8UC3, cv::Scalar::all(0))});
  out.push_back({"white640x480", cv::Mat(vga, CV_8UC3, cv::Scalar::all(255))});
  out.push_back({"grey640x480", cv::Mat(vga, CV_8UC3, cv::Scalar::all(128))});
  cv::Mat horizontal(vga, CV_8UC3), radial(vga, CV_8UC3);
  const double half_diagonal = std::hypot(vga.width / 2.0, vga.height / 2.0);
  for (int y = 0; y < vga.height; ++y)
    for (int x = 0; x < vga.width; ++x) {
      horizontal.at<cv::Vec3b>(y, x) =
          cv::Vec3b::all(cv::saturate_cast<std::uint8_t>(255.0 * x / (vga.width - 1)));
      const double r = std::hypot(x - vga.width / 2.0, y - vga.height / 2.0) / half_diagonal;
      radial.at<cv::Vec3b>(y, x) = cv::Vec3b::all(cv::saturate_cast<std::uint8_t>(255.0 * (1.0 - r)));
    }
  out.push_back({"hgradient640x480", horizontal});
  out.push_back({"radial640x480", radial});
  for (const int cell : {8, 32}) {
    cv::Mat board(vga, CV_8UC3);
    for (int y = 0; y < vga.height; ++y)
      for (int x = 0; x < vga.width; ++x)
        board.at<cv::Vec3b>(y, x) = cv::Vec3b::all((x / cell + y / cell) % 2 ? 255 : 0);
    out.push_back({"checker" + std::to_string(cell) + "_640x480", board});
  }
  cv::Mat blurred;
  cv::GaussianBlur(face_photo, blurred, cv::Size(0, 0), 20);
  out.push_back({"blur20_face_photo", blurred});
  return out;
}

std::vector<std::vector<std::string>> read_csv(const std::string& file) {
  std::ifstream in(file);
  if (!in) throw Error(ErrorCode::io_error, "cannot read " + file);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) cells.push_back(cell);
    rows.push_back(std::move(cells));
  }
  return rows;
}

std::vector<std::string> recall_set_photos(const std::string& dir, std::size_t limit) {
  std::vector<std::string> all;
  for (const auto& cells : read_csv(dir + "/identities.csv"))
    if (!cells.empty() && !cells[0].empty()) all.push_back(cells[0]);
  if (limit >= all.size()) return all;
  std::vector<std::string> picked;
  for (std::size_t i = 0; i < limit; ++i) picked.push_back(all[i * all.size() / limit]);
  return picked;
}

std::vector<std::uint8_t> as_bmp(const cv::Mat& rgb) {
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  std::vector<std::uint8_t> bytes;
  if (!cv::imencode(".bmp", bgr, bytes)) throw Error(ErrorCode::internal, "cannot encode a BMP");
  return bytes;
}

}  // namespace facematch::recall
