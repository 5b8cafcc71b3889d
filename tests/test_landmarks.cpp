// face-api's 68-point landmark net: the net alone on the exact 112x112 tensors face-api fed it, then the
// whole stage (crop, pad, resize, net, postProcess, shift) from the golden SSD boxes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "engine/net.hpp"
#include "facematch/error.hpp"
#include "facematch/landmarks.hpp"
#include "image/face_api_resize.hpp"
#include "models/landmark68_net.hpp"
#include "test_support.hpp"

namespace fm = facematch;
using nlohmann::json;

namespace {

const std::vector<json>& golden() {
  static const std::vector<json> lines = [] {
    const auto path = fm::testing::golden_dir() / "pipeline_ssd.jsonl";
    fm::testing::require_file(path, "reference.mjs --dump-chip over the rgb/*.ppm inputs");
    return fm::testing::read_jsonl(path);
  }();
  return lines;
}

std::string stem_of(const json& line) {
  return std::filesystem::path(line.at("image").get<std::string>()).stem().string();
}

cv::Mat read_rgb(const json& line) {
  const auto path = fm::testing::testdata_dir() / "rgb" / (stem_of(line) + ".ppm");
  fm::testing::require_file(path, "made by tools/golden/make-inputs.sh");
  cv::Mat bgr = cv::imread(path.string(), cv::IMREAD_COLOR);
  if (bgr.empty()) throw std::runtime_error("cannot decode " + path.string());
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  EXPECT_EQ(fm::testing::sha256_hex(rgb.data, rgb.total() * 3), line.at("rgb_sha256").get<std::string>())
      << path;
  return rgb;
}

}  // namespace

TEST(LandmarkNet, EqualsFaceApiOnEveryDemoFace) {
  fm::LandmarkDetector landmarks(fm::testing::shared_models());
  ASSERT_EQ(golden().size(), 6u);
  double worst = 0;
  int faces = 0;
  for (const auto& image : golden()) {
    const std::string stem = stem_of(image);
    for (std::size_t i = 0; i < image.at("faces").size(); ++i) {
      const auto path =
          fm::testing::testdata_dir() / "chips" / (stem + "_face" + std::to_string(i) + "_lm112.f32");
      fm::testing::require_file(path, "made by tools/golden/make-inputs.sh");
      const auto raw = landmarks.run_net(fm::testing::read_f32(path));
      const auto expected = image.at("faces")[i].at("landmark_raw136").get<std::vector<float>>();
      ASSERT_EQ(expected.size(), raw.size());
      for (std::size_t k = 0; k < raw.size(); ++k) {
        const double diff = std::fabs(static_cast<double>(raw[k]) - expected[k]);
        worst = std::max(worst, diff);
        EXPECT_LT(diff, 1e-5) << stem << " face " << i << " output " << k;
      }
      ++faces;
    }
  }
  EXPECT_EQ(faces, 22);
  std::printf("landmark net: %d faces, max |diff| %.3g\n", faces, worst);
}

TEST(LandmarkDetector, MatchesFaceApiFromTheSsdBoxes) {
  fm::LandmarkDetector landmarks(fm::testing::shared_models());
  double worst = 0;
  int faces = 0;
  for (const auto& image : golden()) {
    const cv::Mat rgb = read_rgb(image);
    for (std::size_t i = 0; i < image.at("faces").size(); ++i) {
      const auto& face = image.at("faces")[i];
      const auto box = face.at("box").get<std::vector<double>>();
      const fm::Detection detection{cv::Rect2d(box[0], box[1], box[2], box[3]),
                                    face.at("score").get<float>()};
      const auto crop = face.at("landmark_crop").get<std::vector<int>>();
      EXPECT_EQ(fm::clip_and_floor(detection.box, rgb.cols, rgb.rows),
                cv::Rect(crop[0], crop[1], crop[2], crop[3]));
      const auto points = landmarks.detect(rgb, detection);
      const auto expected = face.at("landmarks68").get<std::vector<std::array<double, 2>>>();
      ASSERT_EQ(expected.size(), points.size());
      for (std::size_t k = 0; k < points.size(); ++k) {
        const double diff =
            std::max(std::fabs(points[k].x - expected[k][0]), std::fabs(points[k].y - expected[k][1]));
        worst = std::max(worst, diff);
        EXPECT_LT(diff, 0.5) << stem_of(image) << " face " << i << " point " << k;
      }
      ++faces;
    }
  }
  EXPECT_EQ(faces, 22);
  std::printf("landmarks: %d faces, max |diff| %.3g px\n", faces, worst);
}

TEST(LandmarkNet, Outputs136ValuesFrom112Input) {
  const auto desc = fm::models::describe_landmark68_net(
      fm::testing::shared_models()->weights(fm::models::kLandmark68Model));
  EXPECT_EQ(desc.shape(0), (fm::engine::Shape{112, 112, 3}));
  EXPECT_EQ(desc.shape(desc.outputs().at(0).value), (fm::engine::Shape{1, 1, 136}));
}

TEST(LandmarkDetector, RejectsABoxOutsideTheImage) {
  fm::LandmarkDetector landmarks(fm::testing::shared_models());
  const cv::Mat rgb(64, 64, CV_8UC3, cv::Scalar::all(128));
  EXPECT_THROW(landmarks.detect(rgb, {cv::Rect2d(100, 100, 20, 20), 0.9f}), fm::Error);
}
