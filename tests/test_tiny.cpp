// face-api's tiny face detector: the net alone on the exact tensors face-api fed it
// (tools/golden/tiny-net.mjs), then the whole detector (preprocessing, YOLO decoding, NMS, box arithmetic) on
// the demo photos.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "engine/net.hpp"
#include "facematch/detect.hpp"
#include "facematch/error.hpp"
#include "image/face_api_resize.hpp"
#include "models/tiny_face_detector_net.hpp"
#include "test_support.hpp"

namespace fm = facematch;
using nlohmann::json;

namespace {

const json& golden() {
  static const json g = [] {
    const auto path = fm::testing::golden_dir() / "tiny_net.json";
    fm::testing::require_file(path, "written by tools/golden/tiny-net.mjs");
    return fm::testing::read_json(path);
  }();
  return g;
}

// The jpeg-js-decoded photo, checked against the hash face-api saw so a different decode cannot pass as a
// detector difference.
cv::Mat read_rgb(const std::string& stem, const std::string& expected_sha256) {
  const auto path = fm::testing::testdata_dir() / "rgb" / (stem + ".ppm");
  fm::testing::require_file(path, "made by tools/golden/make-inputs.sh");
  cv::Mat bgr = cv::imread(path.string(), cv::IMREAD_COLOR);
  if (bgr.empty()) throw std::runtime_error("cannot decode " + path.string());
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  EXPECT_EQ(fm::testing::sha256_hex(rgb.data, rgb.total() * 3), expected_sha256) << path;
  return rgb;
}

// The end-to-end reference: the pipeline golden when it has been generated, else the detections the
// net golden recorded with the same face-api call.
std::vector<json> expected_faces(const json& image) {
  const auto pipeline = fm::testing::golden_dir() / "pipeline_tiny.jsonl";
  if (!std::filesystem::exists(pipeline)) return image.at("faces").get<std::vector<json>>();
  for (const auto& line : fm::testing::read_jsonl(pipeline))
    if (std::filesystem::path(line.at("image").get<std::string>()).stem() ==
        image.at("image").get<std::string>())
      return line.at("faces").get<std::vector<json>>();
  throw std::runtime_error("pipeline_tiny.jsonl has no line for " + image.at("image").get<std::string>());
}

double compare_detections(const std::vector<fm::Detection>& found, const std::vector<json>& expected,
                          const std::string& what) {
  EXPECT_EQ(found.size(), expected.size()) << what;
  double worst = 0;
  for (std::size_t i = 0; i < std::min(found.size(), expected.size()); ++i) {
    const auto box = expected[i].at("box").get<std::vector<double>>();
    const cv::Rect2d& b = found[i].box;
    for (const double diff : {b.x - box[0], b.y - box[1], b.width - box[2], b.height - box[3]}) {
      worst = std::max(worst, std::fabs(diff));
      EXPECT_LT(std::fabs(diff), 0.5) << what << " face " << i;
    }
    EXPECT_NEAR(found[i].score, expected[i].at("score").get<double>(), 1e-4) << what << " face " << i;
  }
  return worst;
}

}  // namespace

TEST(TinyFaceDetectorNet, EqualsFaceApiOnEveryDemoInput) {
  fm::TinyFaceDetector detector(fm::testing::shared_models());
  double worst = 0, worst_relative = 0;
  for (const auto& image : golden().at("images")) {
    const auto path = fm::testing::testdata_dir() / "tiny" / image.at("input_file").get<std::string>();
    fm::testing::require_file(path, "made by tools/golden/make-inputs.sh");
    const auto input = fm::testing::read_f32(path);
    ASSERT_EQ(fm::testing::sha256_hex(input.data(), input.size() * sizeof(float)), image.at("input_sha256"))
        << path << " is not the tensor the golden grid was computed from";
    const auto grid = detector.run_net(input);
    const auto expected = image.at("grid").get<std::vector<float>>();
    ASSERT_EQ(grid.size(), expected.size());
    for (std::size_t k = 0; k < expected.size(); ++k) {
      // Relative above 1: the confidence logits reach -40, where float32 accumulation over 512 channels
      // leaves ~4e-5 absolute (face-api's own cpu and wasm backends differ by 3e-4 there).
      const double diff = std::fabs(static_cast<double>(grid[k]) - expected[k]);
      const double relative = diff / std::max(1.0, std::fabs(static_cast<double>(expected[k])));
      worst = std::max(worst, diff);
      worst_relative = std::max(worst_relative, relative);
      EXPECT_LT(relative, 1e-5) << image.at("image") << " element " << k << " expected " << expected[k];
    }
  }
  std::printf("tiny net: max |diff| %.3g, relative to max(1, |value|) %.3g, over %zu inputs\n", worst,
              worst_relative, golden().at("images").size());
}

TEST(TinyFaceDetectorNet, PreprocessingReproducesFaceApiInput) {
  double worst = 0;
  for (const auto& image : golden().at("images")) {
    const cv::Mat rgb = read_rgb(image.at("image"), image.at("rgb_sha256"));
    const cv::Mat input = fm::face_api_net_input(rgb, 416, /*center=*/false);
    const auto expected = fm::testing::read_f32(fm::testing::testdata_dir() / "tiny" /
                                                image.at("input_file").get<std::string>());
    ASSERT_EQ(input.total() * 3, expected.size());
    const auto* values = input.ptr<float>();
    for (std::size_t k = 0; k < expected.size(); ++k)
      worst = std::max(worst, std::fabs(double(values[k]) - expected[k]));
  }
  // face_api_net_input computes tfjs-wasm's float32 resize step for step: the input is bit-identical.
  EXPECT_EQ(worst, 0.0);
  std::printf("tiny input 416: max |diff| %.3g (0..255 scale)\n", worst);
}

TEST(TinyFaceDetector, FindsTheSameFacesAsFaceApi) {
  fm::TinyFaceDetector detector(fm::testing::shared_models());
  double worst = 0;
  std::size_t faces = 0;
  for (const auto& image : golden().at("images")) {
    const std::string stem = image.at("image");
    const auto found = detector.detect(read_rgb(stem, image.at("rgb_sha256")));
    worst = std::max(worst, compare_detections(found, expected_faces(image), stem));
    faces += found.size();
  }
  EXPECT_EQ(faces, 20u);  // the reference README: tiny finds 20 of the 22 demo faces
  std::printf("tiny detector: %zu faces, max box |diff| %.3g px\n", faces, worst);
}

// A portrait crop: the padding goes to the right and the rounded reshaped width drives the correction.
TEST(TinyFaceDetector, PortraitCropMatchesFaceApi) {
  const auto& portrait = golden().at("portrait");
  const std::string source = portrait.at("source");
  const json* source_image = nullptr;
  for (const auto& image : golden().at("images"))
    if (image.at("image") == source) source_image = &image;
  ASSERT_NE(source_image, nullptr);
  const cv::Mat rgb = read_rgb(source, source_image->at("rgb_sha256"));
  const cv::Mat crop =
      rgb(cv::Rect(portrait.at("x"), portrait.at("y"), portrait.at("width"), portrait.at("height"))).clone();
  ASSERT_EQ(fm::testing::sha256_hex(crop.data, crop.total() * 3), portrait.at("rgb_sha256"));
  fm::TinyFaceDetector detector(fm::testing::shared_models());
  const auto expected = portrait.at("faces").get<std::vector<json>>();
  ASSERT_FALSE(expected.empty());
  compare_detections(detector.detect(crop), expected, "portrait");
}

TEST(TinyFaceDetectorNet, GridIsOneCellPer32Pixels) {
  const auto& weights = fm::testing::shared_models()->weights(fm::models::kTinyFaceDetectorModel);
  for (const int size : {416, 320, 608}) {
    const auto desc = fm::models::describe_tiny_face_detector(weights, size);
    EXPECT_EQ(desc.shape(desc.outputs().at(0).value), (fm::engine::Shape{size / 32, size / 32, 25}));
  }
  EXPECT_THROW(fm::models::describe_tiny_face_detector(weights, 400), fm::Error);
}
