// face-api's SSD MobileNetV1 face detector: the net alone on the exact 512x512 inputs face-api built
// (tools/golden/ssd-net.mjs), then the whole detector on the jpeg-js-decoded demo photos.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "facematch/detect.hpp"
#include "facematch/error.hpp"
#include "image/face_api_resize.hpp"
#include "models/ssd_mobilenetv1_net.hpp"
#include "test_support.hpp"

namespace fm = facematch;

namespace {

constexpr const char* kMakeInputs = "made by tools/golden/make-inputs.sh";

const nlohmann::json& ssd_golden() {
  static const nlohmann::json golden = fm::testing::read_json(fm::testing::golden_dir() / "ssd_net.json");
  return golden;
}

cv::Mat read_rgb(const std::string& stem) {
  const auto path = fm::testing::testdata_dir() / "rgb" / (stem + ".ppm");
  fm::testing::require_file(path, kMakeInputs);
  cv::Mat bgr = cv::imread(path.string(), cv::IMREAD_COLOR);
  if (bgr.empty()) throw std::runtime_error("cannot decode " + path.string());
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

std::string rgb_sha256(const cv::Mat& rgb) {
  const cv::Mat continuous = rgb.isContinuous() ? rgb : rgb.clone();
  return fm::testing::sha256_hex(continuous.data, continuous.total() * continuous.elemSize());
}

// face-api's detections for image `stem`: the pipeline golden when it exists (the detections the rest of
// the pipeline starts from), else those ssd-net.mjs recorded.
nlohmann::json expected_faces(const std::string& stem) {
  const auto pipeline = fm::testing::golden_dir() / "pipeline_ssd.jsonl";
  if (std::filesystem::exists(pipeline)) {
    for (const auto& line : fm::testing::read_jsonl(pipeline))
      if (line.at("image") == stem) return line.at("faces");
  }
  for (const auto& image : ssd_golden().at("images"))
    if (image.at("image") == stem) return image.at("faces");
  throw std::runtime_error("no golden detections for " + stem);
}

struct Worst {
  double box = 0, score = 0;
};

void expect_same_detections(const std::vector<fm::Detection>& got, const nlohmann::json& expected,
                            const std::string& what, Worst& worst) {
  ASSERT_EQ(got.size(), expected.size()) << what;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const auto box = expected[i].at("box").get<std::vector<double>>();
    const double values[4] = {got[i].box.x, got[i].box.y, got[i].box.width, got[i].box.height};
    for (int k = 0; k < 4; ++k) {
      const double diff = std::fabs(values[k] - box[static_cast<std::size_t>(k)]);
      worst.box = std::max(worst.box, diff);
      EXPECT_LT(diff, 0.5) << what << " face " << i << " box[" << k << "]";
    }
    const double score_diff = std::fabs(got[i].score - expected[i].at("score").get<double>());
    worst.score = std::max(worst.score, score_diff);
    EXPECT_LT(score_diff, 1e-4) << what << " face " << i;
  }
}

}  // namespace

// Tolerance: float32 accumulation-order noise through 27 layers, on outputs up to ~30 in magnitude.
// face-api's own cpu and wasm backends disagree on these outputs by up to 5.9e-5 (1.7e-5 relative to
// max(1, |value|)), rms 2.7e-6; this net measured 5.5e-5 (2.4e-5 relative), rms 4.2e-6.
TEST(SsdNet, RawOutputsEqualFaceApi) {
  fm::SsdFaceDetector detector(fm::testing::shared_models());
  struct Stats {
    double max_abs = 0, max_rel = 0, sum_sq = 0;
    std::size_t n = 0;
  } stats[2];
  int checked = 0;
  for (const auto& image : ssd_golden().at("images")) {
    if (!image.contains("box_encodings")) continue;
    const std::string stem = image.at("image");
    const auto path = fm::testing::testdata_dir() / "ssd" / image.at("input_file").get<std::string>();
    fm::testing::require_file(path, kMakeInputs);
    const auto input = fm::testing::read_f32(path);
    ASSERT_EQ(fm::testing::sha256_hex(input.data(), input.size() * sizeof(float)), image.at("input_sha256"))
        << path << " is not the input the golden outputs were made from (regenerate the test data)";

    const auto raw = detector.run_net(input);
    const std::vector<float>* got[2] = {&raw.box_encodings, &raw.class_logits};
    const char* names[2] = {"box_encodings", "class_logits"};
    for (int k = 0; k < 2; ++k) {
      const auto want = image.at(names[k]).get<std::vector<float>>();
      ASSERT_EQ(got[k]->size(), want.size()) << names[k];
      const std::size_t per_anchor = want.size() / fm::models::kSsdAnchors;
      for (std::size_t i = 0; i < want.size(); ++i) {
        const double diff = std::fabs(static_cast<double>((*got[k])[i]) - want[i]);
        const double rel = diff / std::max(1.0, std::fabs(static_cast<double>(want[i])));
        stats[k].max_abs = std::max(stats[k].max_abs, diff);
        stats[k].max_rel = std::max(stats[k].max_rel, rel);
        stats[k].sum_sq += diff * diff;
        ++stats[k].n;
        EXPECT_LT(rel, 5e-5) << stem << " anchor " << i / per_anchor << " " << names[k] << "["
                             << i % per_anchor << "]: " << (*got[k])[i] << " vs " << want[i];
      }
    }
    ++checked;
  }
  EXPECT_EQ(checked, 2);
  for (int k = 0; k < 2; ++k) {
    const double rms = std::sqrt(stats[k].sum_sq / static_cast<double>(std::max<std::size_t>(stats[k].n, 1)));
    EXPECT_LT(rms, 1e-5);
    std::printf("SSD net %s: max |diff| %.3g, max relative %.3g, rms %.3g\n",
                k ? "class logits" : "box encodings", stats[k].max_abs, stats[k].max_rel, rms);
  }
}

TEST(SsdNet, HasFaceApiGeometry) {
  const auto models = fm::testing::shared_models();
  const auto net = fm::models::describe_ssd_mobilenetv1(models->weights(fm::models::kSsdModel));
  ASSERT_EQ(net.outputs().size(), 12u);
  const int cells[] = {32, 16, 8, 4, 2, 1};
  const int anchors[] = {3, 6, 6, 6, 6, 6};
  for (std::size_t p = 0; p < 6; ++p) {
    EXPECT_EQ(net.shape(net.outputs()[2 * p].value), (fm::engine::Shape{cells[p], cells[p], anchors[p] * 4}));
    EXPECT_EQ(net.shape(net.outputs()[2 * p + 1].value),
              (fm::engine::Shape{cells[p], cells[p], anchors[p] * 3}));
  }
}

// Not the detector's own code, but everything downstream depends on it: the padded, resized input must
// be the tensor face-api builds.
TEST(SsdDetector, BuildsFaceApisInput) {
  for (const auto& image : ssd_golden().at("images")) {
    const std::string stem = image.at("image");
    const cv::Mat rgb = read_rgb(stem);
    ASSERT_EQ(rgb_sha256(rgb), image.at("rgb_sha256")) << stem << ": not the pixels jpeg-js decoded";
    const cv::Mat input = fm::face_api_net_input(rgb, fm::models::kSsdInputSize, /*center=*/false);
    ASSERT_TRUE(input.isContinuous());
    EXPECT_EQ(fm::testing::sha256_hex(input.data, input.total() * input.elemSize()), image.at("input_sha256"))
        << stem;
  }
}

TEST(SsdDetector, FindsFaceApisFacesOnDemoPhotos) {
  fm::SsdFaceDetector detector(fm::testing::shared_models());
  Worst worst;
  int faces = 0;
  for (const auto& image : ssd_golden().at("images")) {
    const std::string stem = image.at("image");
    const cv::Mat rgb = read_rgb(stem);
    ASSERT_EQ(rgb_sha256(rgb), image.at("rgb_sha256")) << stem << ": not the pixels jpeg-js decoded";
    const auto detections = detector.detect(rgb);
    expect_same_detections(detections, expected_faces(stem), stem, worst);
    for (std::size_t i = 1; i < detections.size(); ++i)
      EXPECT_GE(detections[i - 1].score, detections[i].score);
    faces += static_cast<int>(detections.size());
  }
  EXPECT_EQ(faces, 22);
  std::printf("SSD detector: %d faces, max |diff| box %.3g px, score %.3g\n", faces, worst.box, worst.score);
}

TEST(SsdDetector, FindsNothingOnUniformImages) {
  fm::SsdFaceDetector detector(fm::testing::shared_models());
  for (const int level : {0, 128, 255}) {
    const cv::Mat plain(480, 640, CV_8UC3, cv::Scalar::all(level));
    EXPECT_TRUE(detector.detect(plain).empty()) << "level " << level;
  }
}

// A portrait crop: the padding goes to the right and the reshaped width rounds (799 * 0.4 = 319.6).
TEST(SsdDetector, HandlesPortraitImages) {
  const auto& portrait = ssd_golden().at("portrait");
  const cv::Mat full = read_rgb(portrait.at("source"));
  const cv::Rect region(portrait.at("x").get<int>(), portrait.at("y").get<int>(),
                        portrait.at("width").get<int>(), portrait.at("height").get<int>());
  const cv::Mat crop = full(region).clone();
  ASSERT_GT(crop.rows, crop.cols);
  ASSERT_EQ(rgb_sha256(crop), portrait.at("rgb_sha256"));
  fm::SsdFaceDetector detector(fm::testing::shared_models());
  Worst worst;
  const auto detections = detector.detect(crop);
  EXPECT_FALSE(detections.empty());
  expect_same_detections(detections, portrait.at("faces"), "portrait", worst);
  std::printf("SSD portrait: %zu faces, max |diff| box %.3g px, score %.3g\n", detections.size(), worst.box,
              worst.score);
}

TEST(SsdDetector, RejectsBadArguments) {
  const auto models = fm::testing::shared_models();
  EXPECT_THROW(fm::SsdFaceDetector(models, 0.f), fm::Error);
  EXPECT_THROW(fm::SsdFaceDetector(models, 1.f), fm::Error);
  EXPECT_THROW(fm::SsdFaceDetector(models, 0.5f, 0), fm::Error);
  fm::SsdFaceDetector detector(models);
  EXPECT_THROW(detector.detect(cv::Mat()), fm::Error);
  EXPECT_THROW(detector.detect(cv::Mat(64, 64, CV_8UC1, cv::Scalar(0))), fm::Error);
  EXPECT_THROW(detector.run_net(std::vector<float>(10)), fm::Error);
}
