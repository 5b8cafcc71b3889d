// The recall set of bench/detection_recall (issue 12, "find every face a person can see"): variants of a
// photo whose face is known, each with the face's box carried along; the rule for a detection to count
// as that face; and inputs that hold no face. Built in memory, never written to disk.
#pragma once

#include <cstdint>
#include <functional>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace facematch::recall {

// An RGB image (CV_8UC3) and where its face is, in its pixels.
struct FaceImage {
  cv::Mat rgb;
  cv::Rect2d face;
  // Clockwise quarter turns that stand the face up again (Detection::upright_turns of a right answer).
  int upright_turns = 0;
  // How far the face is rolled in the image, counter-clockwise degrees (cv::getRotationMatrix2D's sign);
  // a photo turned a quarter clockwise rolls it by -90.
  double roll_deg = 0;
};

// Whether a face found `detected_turns` clockwise quarter turns from the image's orientation is read
// within 45 degrees of upright, where the landmark net reads faces as well as upright (bench/
// orientation_study: landmark misfit median 0.041 for a 45-degree face read as it lies, 0.042 read a
// quarter turn the other way). A 45-degree face is right both ways.
bool reads_upright(const FaceImage& image, int detected_turns);

// The side of a face box for cropping and size comparisons: the longer one, so crops hold the whole box.
double box_side(const cv::Rect2d& box);
double iou(const cv::Rect2d& a, const cv::Rect2d& b);
// A detection is the known face when IoU >= 0.3, or when the face's centre lies inside the detected box
// and the box's side is within 0.5x-2x of the face's (detectors frame a rolled or squashed face
// differently, and the cascade's two detectors frame faces differently from each other).
bool matches_face(const cv::Rect2d& detected, const cv::Rect2d& face);

// A square of `side_factor` times the face's side centred on the face (black where it leaves the
// photo), resized to out_size x out_size.
FaceImage crop_around_face(const FaceImage& photo, double side_factor, int out_size);
// The whole photo resized to out_size x out_size ignoring its aspect ratio (cv::resize INTER_LINEAR, as
// the original API's clients do).
FaceImage squash(const FaceImage& photo, int out_size);
// The photo rotated by `degrees` about the face's centre, counter-clockwise for positive angles
// (cv::getRotationMatrix2D's sign), on a canvas grown so that no pixel is cut. The face's box keeps its
// size (the face does not grow, only turns) and moves with its centre.
FaceImage roll(const FaceImage& photo, double degrees);
// The photo turned by cv::rotate: 1 = 90 degrees clockwise, 2 = 180, 3 = 270 (90 counter-clockwise).
FaceImage turn(const FaceImage& photo, int quarter_turns_clockwise);
// The photo downscaled (INTER_AREA) so that the face box is `face_width` pixels wide.
FaceImage shrink_face_to(const FaceImage& photo, int face_width);
// The photo darkened like a photo taken in the dark: gamma `gamma` on each channel, multiplied down to a
// mean luma (BT.601) of `mean_luma`, plus Gaussian sensor noise of `noise_sigma` from `seed`.
FaceImage darken(const FaceImage& photo, double mean_luma, double gamma, double noise_sigma,
                 std::uint64_t seed);

double mean_luma(const cv::Mat& rgb);

// `rgb` (CV_8UC3 RGB) as a BMP file's bytes: lossless, and decoded in well under a millisecond.
std::vector<std::uint8_t> as_bmp(const cv::Mat& rgb);

// The rows of a CSV file without quoting, its header left out.
std::vector<std::vector<std::string>> read_csv(const std::string& file);
// `limit` photos of DIR/identities.csv, evenly spaced through it (so every part of the set, and most of
// its people, take part), relative to DIR.
std::vector<std::string> recall_set_photos(const std::string& dir, std::size_t limit);

struct Variant {
  std::string name;
  std::function<FaceImage(const FaceImage&)> make;
};
// Every variant of issue 12, in report order; "original" (the photo unchanged) first.
std::vector<Variant> standard_variants();

struct NamedImage {
  std::string name;
  cv::Mat rgb;
};
// Synthetic inputs without a face: uniform noise, flat, gradient and checkerboard images, and
// `face_photo` blurred beyond recognition (Gaussian sigma 20), each named by its kind and size.
std::vector<NamedImage> synthetic_non_faces(const cv::Mat& face_photo);

}  // namespace facematch::recall
