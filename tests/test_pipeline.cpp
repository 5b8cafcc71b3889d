// End-to-end parity with face-api (SSD, faceapi alignment) on the model package's six demo photos, fed
// as the identical jpeg-js pixels; and thread safety of the Verifier.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <thread>

#include "facematch/error.hpp"
#include "facematch/verifier.hpp"
#include "image/face_api_resize.hpp"
#include "test_support.hpp"

namespace fm = facematch;

namespace {

cv::Mat load_rgb_ppm(const std::string& stem) {
  const auto path = fm::testing::testdata_dir() / "rgb" / (stem + ".ppm");
  fm::testing::require_file(path, "made by tools/golden/make-inputs.sh");
  cv::Mat bgr = cv::imread(path.string(), cv::IMREAD_COLOR), rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

fm::PipelineOptions faceapi_options() {
  fm::PipelineOptions o;
  o.detector.kind = fm::DetectorKind::ssd;
  o.align = fm::AlignMode::faceapi;
  return o;
}

}  // namespace

TEST(Pipeline, EqualsFaceApiOnTheDemoPhotos) {
  fm::Verifier verifier(fm::testing::shared_models(), 1);
  const auto golden = fm::testing::read_jsonl(fm::testing::golden_dir() / "pipeline_ssd.jsonl");
  ASSERT_EQ(golden.size(), 6u);
  double worst_box = 0, worst_landmark = 0, worst_descriptor = 0;
  std::vector<std::vector<float>> ours, theirs;
  for (const auto& image : golden) {
    const std::string stem = image.at("image");
    const cv::Mat rgb = load_rgb_ppm(stem);
    const auto analysis = verifier.analyze(rgb, faceapi_options(), /*embed_all_faces=*/true);
    const auto& faces = image.at("faces");
    ASSERT_EQ(analysis.faces.size(), faces.size()) << stem;
    for (std::size_t i = 0; i < faces.size(); ++i) {
      const auto& g = faces[i];
      const auto& f = analysis.faces[i];
      const auto box = g.at("box").get<std::vector<double>>();
      const double box_diff =
          std::max({std::fabs(f.detection.box.x - box[0]), std::fabs(f.detection.box.y - box[1]),
                    std::fabs(f.detection.box.width - box[2]), std::fabs(f.detection.box.height - box[3])});
      worst_box = std::max(worst_box, box_diff);
      EXPECT_LT(box_diff, 0.5) << stem << " face " << i;
      const auto landmarks = g.at("landmarks68").get<std::vector<std::vector<double>>>();
      for (std::size_t k = 0; k < 68; ++k) {
        const double d = std::max(std::fabs(f.landmarks[k].x - landmarks[k][0]),
                                  std::fabs(f.landmarks[k].y - landmarks[k][1]));
        worst_landmark = std::max(worst_landmark, d);
        EXPECT_LT(d, 0.5) << stem << " face " << i << " point " << k;
      }
      // The integer chip crop decides the descriptor; compare it before the descriptor.
      const auto crop = g.at("chip_crop").get<std::vector<int>>();
      const cv::Rect ours_crop =
          fm::clip_and_floor(cv::Rect2d(fm::faceapi_chip_rect(f, rgb.cols, rgb.rows)), rgb.cols, rgb.rows);
      EXPECT_EQ(ours_crop, cv::Rect(crop[0], crop[1], crop[2], crop[3])) << stem << " face " << i;
      const auto descriptor = g.at("descriptor").get<std::vector<float>>();
      for (std::size_t k = 0; k < descriptor.size(); ++k) {
        const double d = std::fabs(static_cast<double>(analysis.embeddings[i].values[k]) - descriptor[k]);
        worst_descriptor = std::max(worst_descriptor, d);
        EXPECT_LT(d, 1e-4) << stem << " face " << i << " element " << k;
      }
      ours.push_back(analysis.embeddings[i].values);
      theirs.push_back(descriptor);
    }
  }
  ASSERT_EQ(ours.size(), 22u);
  // The reference puts 19 of the 231 different-person pairs under 0.6; a port must reproduce that.
  int ours_under = 0, theirs_under = 0;
  for (std::size_t a = 0; a < ours.size(); ++a)
    for (std::size_t b = a + 1; b < ours.size(); ++b) {
      ours_under += fm::euclidean_distance({ours[a], "m"}, {ours[b], "m"}) < 0.6;
      theirs_under += fm::euclidean_distance({theirs[a], "m"}, {theirs[b], "m"}) < 0.6;
    }
  EXPECT_EQ(theirs_under, 19);
  EXPECT_EQ(ours_under, theirs_under);
  std::printf("parity: max box diff %.3g px, max landmark diff %.3g px, max descriptor diff %.3g\n",
              worst_box, worst_landmark, worst_descriptor);
}

TEST(Pipeline, ParallelResultsEqualSerialResults) {
  const auto models = fm::testing::shared_models();
  std::vector<cv::Mat> images;
  for (int i = 1; i <= 6; ++i) images.push_back(load_rgb_ppm("sample" + std::to_string(i)));
  fm::PipelineOptions options;  // defaults: the production path

  fm::Verifier serial(models, 1);
  std::vector<std::vector<float>> expected;
  for (const auto& img : images) expected.push_back(serial.analyze(img, options).chosen_embedding().values);

  fm::Verifier parallel(models, 3);
  std::vector<std::vector<float>> got(images.size() * 2);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (std::size_t i = t; i < got.size(); i += 4)
        got[i] = parallel.analyze(images[i % images.size()], options).chosen_embedding().values;
    });
  for (auto& t : threads) t.join();
  for (std::size_t i = 0; i < got.size(); ++i)
    EXPECT_EQ(got[i], expected[i % images.size()]) << "image " << i;
}

TEST(Pipeline, FacePolicyPicksLargestBestOrRefuses) {
  const auto path = fm::testing::shared_dir() / "faces" / "multi_four_people.jpg";
  fm::testing::require_file(path, "../shared/faces");
  const cv::Mat rgb = fm::read_image(path);
  fm::Verifier verifier(fm::testing::shared_models(), 1);
  fm::PipelineOptions options;
  options.face_policy = fm::FacePolicy::largest;
  const auto largest = verifier.analyze(rgb, options);
  ASSERT_GE(largest.faces.size(), 4u);
  for (const auto& f : largest.faces)
    EXPECT_LE(f.detection.box.area(), largest.faces[largest.chosen].detection.box.area());

  options.face_policy = fm::FacePolicy::best;
  const auto best = verifier.analyze(rgb, options);
  for (const auto& f : best.faces) EXPECT_LE(f.detection.score, best.faces[best.chosen].detection.score);

  options.face_policy = fm::FacePolicy::error;
  try {
    verifier.analyze(rgb, options);
    ADD_FAILURE() << "face policy 'error' accepted a group photo";
  } catch (const fm::Error& e) {
    EXPECT_EQ(e.code(), fm::ErrorCode::too_many_faces);
  }
}

namespace {

double iou(const cv::Rect2d& a, const cv::Rect2d& b) { return (a & b).area() / (a | b).area(); }

}  // namespace

// On paul_rudd.jpg: 1638x2048 with one face about 990 pixels wide.
class ReducedDecoding : public ::testing::Test {
 protected:
  void SetUp() override { fm::testing::require_file(path, "../shared/faces"); }
  const std::filesystem::path path = fm::testing::shared_dir() / "faces" / "paul_rudd.jpg";
  fm::Verifier verifier{fm::testing::shared_models(), 1};
  fm::PipelineOptions options = fm::recommended_pipeline();
};

TEST_F(ReducedDecoding, ReportsFullSizeFacesAndKeepsTheDescriptor) {
  options.reduced_decode_min_side = 0;
  const auto full = verifier.analyze_file(path, options);
  options.reduced_decode_min_side = 640;  // 2048 / 2 >= 640 > 2048 / 4
  const auto reduced = verifier.analyze_file(path, options);
  EXPECT_EQ(full.decode_scale, 1);
  EXPECT_EQ(reduced.decode_scale, 2);
  EXPECT_EQ(reduced.width, 1638);
  EXPECT_EQ(reduced.height, 2048);
  const auto& a = full.faces[full.chosen];
  const auto& b = reduced.faces[reduced.chosen];
  EXPECT_GT(iou(a.detection.box, b.detection.box), 0.8);
  double landmark_shift = 0;
  for (std::size_t i = 0; i < a.landmarks.size(); ++i)
    landmark_shift += cv::norm(a.landmarks[i] - b.landmarks[i]);
  EXPECT_LT(landmark_shift / a.landmarks.size(), 0.03 * a.detection.box.width)
      << "mean landmark shift in pixels";
  // The same person by a wide margin (the default threshold is 0.555); measured 0.075.
  EXPECT_LT(fm::euclidean_distance(full.chosen_embedding(), reduced.chosen_embedding()), 0.15);

  // detect_file decodes the same way and reports the same full-size faces.
  const auto detected = verifier.detect_file(path, options);
  EXPECT_EQ(detected.decode_scale, 2);
  ASSERT_EQ(detected.faces.size(), reduced.faces.size());
  EXPECT_EQ(detected.faces[0].detection.box, reduced.faces[0].detection.box);
}

TEST_F(ReducedDecoding, DecodesAgainWhenTheFaceWouldBeSmallerThanTheChip) {
  // 2048 / 8 = 256 >= 200: detected at 1/8, where the face is about 124 pixels, under the 150-pixel
  // chip; 1/4 keeps it about 250.
  options.reduced_decode_min_side = 200;
  const auto analysis = verifier.analyze_file(path, options);
  EXPECT_EQ(analysis.decode_scale, 4);
  EXPECT_GE(std::min(analysis.faces[analysis.chosen].detection.box.width,
                     analysis.faces[analysis.chosen].detection.box.height) /
                analysis.decode_scale,
            fm::kChipSize);
}
