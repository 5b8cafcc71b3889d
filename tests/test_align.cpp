// Alignment geometry: face-api's rectangle rule, and the similarity chip's invariance to rotation and scale.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "facematch/align.hpp"
#include "facematch/error.hpp"
#include "facematch/verifier.hpp"
#include "test_support.hpp"

namespace fm = facematch;

namespace {

fm::Face synthetic_face() {
  fm::Face f;
  f.detection.box = cv::Rect2d(80, 60, 140, 160);
  for (auto& p : f.landmarks) p = {150, 150};
  for (int i = 36; i <= 41; ++i) f.landmarks[i] = {120, 120};  // left eye centre
  for (int i = 42; i <= 47; ++i) f.landmarks[i] = {180, 120};  // right eye centre
  for (int i = 48; i <= 67; ++i) f.landmarks[i] = {150, 200};  // mouth centre
  return f;
}

double mean_abs_diff(const cv::Mat& a, const cv::Mat& b) { return cv::mean(cv::abs(a - b))[0]; }

fm::Face real_face(const cv::Mat& rgb) {
  fm::Verifier verifier(fm::testing::shared_models(), 1);
  const auto faces = verifier.detect(rgb, fm::PipelineOptions{});
  if (faces.empty()) throw std::runtime_error("no face in the test photo");
  return faces[0];
}

cv::Mat test_photo() {
  const auto path = fm::testing::shared_dir() / "faces" / "obama_1.jpg";
  fm::testing::require_file(path, "../shared/faces");
  return fm::read_image(path);
}

}  // namespace

TEST(Align, FaceApiRectFollowsAlignDlib) {
  const auto face = synthetic_face();
  // eye-to-mouth distance = hypot(30, 80) = 85.44; size = floor(85.44 / 0.45) = 189;
  // reference point = (150, 146.67); x = floor(150 - 94.5) = 55; y = floor(146.67 - 0.43 * 189) = 65.
  EXPECT_EQ(fm::faceapi_chip_rect(face, 1000, 1000), cv::Rect(55, 65, 189, 189));
}

TEST(Align, ChipsAre150SquareFloatRgb) {
  cv::Mat rgb(300, 300, CV_8UC3, cv::Scalar(10, 20, 30));
  for (auto mode : {fm::AlignMode::faceapi, fm::AlignMode::similarity}) {
    const cv::Mat chip = fm::extract_chip(rgb, synthetic_face(), mode);
    EXPECT_EQ(chip.type(), CV_32FC3);
    EXPECT_EQ(chip.size(), cv::Size(150, 150));
  }
}

TEST(Align, ParsesModeNames) {
  EXPECT_EQ(fm::parse_align("faceapi"), fm::AlignMode::faceapi);
  EXPECT_EQ(fm::parse_align("similarity"), fm::AlignMode::similarity);
  EXPECT_THROW(fm::parse_align("dlib"), fm::Error);
}

TEST(Align, SimilarityChipUndoesRotation) {
  const cv::Mat rgb = test_photo();
  const fm::Face face = real_face(rgb);
  const cv::Mat upright = fm::extract_chip(rgb, face, fm::AlignMode::similarity);

  // Rotate the photo by 25 degrees about the face and move the landmarks with it: the chip must not change
  // beyond resampling noise, while face-api's axis-aligned chip does.
  const cv::Point2f centre(static_cast<float>(face.detection.box.x + face.detection.box.width / 2),
                           static_cast<float>(face.detection.box.y + face.detection.box.height / 2));
  const cv::Mat rotation = cv::getRotationMatrix2D(centre, 25, 1.0);
  cv::Mat rotated;
  cv::warpAffine(rgb, rotated, rotation, rgb.size(), cv::INTER_LINEAR, cv::BORDER_REFLECT);
  fm::Face moved = face;
  for (auto& p : moved.landmarks) {
    const cv::Matx23d m(rotation);
    p = {m(0, 0) * p.x + m(0, 1) * p.y + m(0, 2), m(1, 0) * p.x + m(1, 1) * p.y + m(1, 2)};
  }
  const cv::Mat turned = fm::extract_chip(rotated, moved, fm::AlignMode::similarity);
  const double similarity_diff = mean_abs_diff(upright, turned);
  const double faceapi_diff = mean_abs_diff(fm::extract_chip(rgb, face, fm::AlignMode::faceapi),
                                            fm::extract_chip(rotated, moved, fm::AlignMode::faceapi));
  EXPECT_LT(similarity_diff, 6.0);
  EXPECT_GT(faceapi_diff, 3 * similarity_diff);
}

TEST(Align, SimilarityChipIsScaleInvariant) {
  const cv::Mat rgb = test_photo();
  const fm::Face face = real_face(rgb);
  cv::Mat doubled;
  cv::resize(rgb, doubled, cv::Size(), 3.0, 3.0, cv::INTER_CUBIC);
  fm::Face scaled = face;
  // Pixel centres: x' = 3x + 1 for a 3x upscale (OpenCV maps (x+0.5)*3 - 0.5).
  for (auto& p : scaled.landmarks) p = {3 * p.x + 1, 3 * p.y + 1};
  const double diff = mean_abs_diff(fm::extract_chip(rgb, face, fm::AlignMode::similarity),
                                    fm::extract_chip(doubled, scaled, fm::AlignMode::similarity));
  EXPECT_LT(diff, 4.0);
}

// The original API's clients resize whole photos to 224x224 whatever their aspect ratio. The unsquash
// chip does not depend on such a squash (it fits the stretch from the landmarks: here 1.59 on the
// squashed photo and 0.88 on the original, 0.88 / 0.55 = 1.59), where a similarity keeps the face
// squashed.
TEST(Align, UnsquashChipIgnoresAHorizontalSquash) {
  const cv::Mat rgb = test_photo();
  const fm::Face face = real_face(rgb);
  constexpr double kSquash = 0.55;
  cv::Mat squashed;
  cv::resize(rgb, squashed, cv::Size(), kSquash, 1.0, cv::INTER_AREA);
  fm::Face moved = face;
  for (auto& p : moved.landmarks) p.x = (p.x + 0.5) * kSquash - 0.5;
  moved.detection.box.x *= kSquash;
  moved.detection.box.width *= kSquash;
  const auto chip_change = [&](fm::AlignMode mode) {
    return mean_abs_diff(fm::extract_chip(rgb, face, mode), fm::extract_chip(squashed, moved, mode));
  };
  const double unsquash = chip_change(fm::AlignMode::unsquash);
  const double similarity = chip_change(fm::AlignMode::similarity);
  EXPECT_LT(unsquash, 6.0);
  EXPECT_GT(similarity, 3 * unsquash);
}

TEST(Align, EveryModeHasAName) {
  for (auto mode :
       {fm::AlignMode::faceapi, fm::AlignMode::similarity, fm::AlignMode::unsquash, fm::AlignMode::affine})
    EXPECT_EQ(fm::parse_align(fm::to_string(mode)), mode);
}

// The misfit judges shape alone: a real face's landmarks rotated, scaled and moved keep theirs, and the
// same points jumbled lie far from any face.
TEST(Align, MeanFaceMisfitIgnoresPoseAndSeesAJumbledShape) {
  const fm::Face face = real_face(test_photo());
  const double misfit = fm::mean_face_misfit(face.landmarks);
  EXPECT_LT(misfit, 0.08);  // 95% of the recall set's upright faces (bench/orientation_study)
  fm::Landmarks68 moved = face.landmarks, jumbled = face.landmarks;
  const double angle = 0.6;
  for (auto& p : moved)
    p = {3 * (std::cos(angle) * p.x - std::sin(angle) * p.y) + 40,
         3 * (std::sin(angle) * p.x + std::cos(angle) * p.y) - 7};
  EXPECT_NEAR(fm::mean_face_misfit(moved), misfit, 1e-9);
  std::reverse(jumbled.begin() + 17, jumbled.end());
  EXPECT_GT(fm::mean_face_misfit(jumbled), 3 * misfit);
}
