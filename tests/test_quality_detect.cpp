// Detection recall beyond face-api (docs/detection-recall.md): the low-light retry, tiles for large
// photos, the tiny -> SSD cascade and the other detector as a fallback, on the labelled photos of
// ../shared/faces. Plain ssd/tiny must stay face-api's detectors (their parity tests live elsewhere).
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "facematch/error.hpp"
#include "facematch/image.hpp"
#include "facematch/verifier.hpp"
#include "test_support.hpp"

namespace fm = facematch;

namespace {

cv::Mat photo(const std::string& name) { return fm::testing::shared_photo(name); }

std::vector<fm::Detection> detect(const cv::Mat& rgb, const fm::DetectorOptions& options) {
  return fm::make_detector(fm::testing::shared_models(), options)->detect(rgb);
}

fm::DetectorOptions options(fm::DetectorKind kind) {
  fm::DetectorOptions o;
  o.kind = kind;
  return o;
}

fm::DetectorOptions with_retry(fm::DetectorKind kind) {
  auto o = options(kind);
  o.retry_low_light = true;
  return o;
}

double iou(const cv::Rect2d& a, const cv::Rect2d& b) {
  const double inter = (a & b).area();
  return inter / (a.area() + b.area() - inter);
}

// A photo taken in the dark as the shared low-light photos are: mean luma 12 of 255, with sensor noise
// (a fixed seed, so the test sees the same pixels every run).
cv::Mat darken(const cv::Mat& rgb) {
  cv::Mat f;
  rgb.convertTo(f, CV_32F);
  const cv::Scalar m = cv::mean(f);
  f *= 12.0 / (0.299 * m[0] + 0.587 * m[1] + 0.114 * m[2]);
  cv::Mat noise(f.size(), CV_32FC3);
  cv::RNG rng(42);
  rng.fill(noise, cv::RNG::NORMAL, 0, 3);
  f += noise;
  cv::Mat out;
  f.convertTo(out, CV_8U);
  return out;
}

void expect_same(const std::vector<fm::Detection>& a, const std::vector<fm::Detection>& b, const char* what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].box, b[i].box) << what << " face " << i;
    EXPECT_EQ(a[i].score, b[i].score) << what << " face " << i;
  }
}

}  // namespace

TEST(DetectorKinds, ParseAndPrintEveryKind) {
  for (const auto kind : {fm::DetectorKind::ssd, fm::DetectorKind::tiny, fm::DetectorKind::cascade})
    EXPECT_EQ(fm::parse_detector(fm::to_string(kind)), kind);
  EXPECT_THROW(fm::parse_detector("yolo"), fm::Error);
}

TEST(DetectorKinds, PlainOptionsGiveFaceApisOwnDetectors) {
  const auto models = fm::testing::shared_models();
  EXPECT_NE(
      dynamic_cast<fm::SsdFaceDetector*>(fm::make_detector(models, options(fm::DetectorKind::ssd)).get()),
      nullptr);
  EXPECT_NE(
      dynamic_cast<fm::TinyFaceDetector*>(fm::make_detector(models, options(fm::DetectorKind::tiny)).get()),
      nullptr);
  auto cascade = fm::make_detector(models, options(fm::DetectorKind::cascade));
  EXPECT_NE(dynamic_cast<fm::RecallFaceDetector*>(cascade.get()), nullptr);
  EXPECT_EQ(cascade->kind(), fm::DetectorKind::cascade);
  EXPECT_EQ(fm::make_detector(models, with_retry(fm::DetectorKind::ssd))->kind(), fm::DetectorKind::ssd);
}

TEST(DetectorKinds, BadRecallOptionsAreRefused) {
  const auto models = fm::testing::shared_models();
  auto o = options(fm::DetectorKind::ssd);
  o.tile_min_side = -1;
  EXPECT_THROW(fm::make_detector(models, o), fm::Error);
  o = options(fm::DetectorKind::cascade);
  o.cascade_sure_score = 0.f;
  EXPECT_THROW(fm::make_detector(models, o), fm::Error);
  o = with_retry(fm::DetectorKind::ssd);
  o.retry_min_score = 1.f;
  EXPECT_THROW(fm::make_detector(models, o), fm::Error);
  o = options(fm::DetectorKind::cascade);
  o.tiny_input_size = 100;  // the cascade runs tiny, so its size is checked
  EXPECT_THROW(fm::make_detector(models, o), fm::Error);
}

TEST(LowLight, OnlyTheDarkPhotosCountAsDark) {
  EXPECT_TRUE(fm::is_low_light(photo("lowlight_1.jpg")));
  EXPECT_TRUE(fm::is_low_light(photo("lowlight_2.jpg")));
  for (const char* name : {"obama_1.jpg", "kit_harington_3.jpg", "noface_grass.jpg", "profile_woman.jpg"})
    EXPECT_FALSE(fm::is_low_light(photo(name))) << name;
}

TEST(LowLight, EnhancementBrightensAndBoundsTheSize) {
  const cv::Mat dark = photo("lowlight_2.jpg");
  const cv::Mat bright = fm::enhance_low_light(dark, 800);
  EXPECT_EQ(std::max(bright.cols, bright.rows), 800);
  EXPECT_NEAR(static_cast<double>(bright.cols) / bright.rows, static_cast<double>(dark.cols) / dark.rows,
              0.01);
  EXPECT_FALSE(fm::is_low_light(bright));
  EXPECT_EQ(fm::enhance_low_light(dark, 0).size(), dark.size());
}

// face-api finds nothing in either photo (the reference's known misses); the retry finds the one person,
// with a box on his face (regions read off the photos by eye, in full-resolution pixels).
TEST(LowLight, RetryFindsTheFaceInBothDarkPhotos) {
  struct Case {
    const char* name;
    cv::Rect2d face_region;  // the face's centre must fall inside
  };
  for (const Case& c :
       {Case{"lowlight_1.jpg", {1850, 800, 750, 950}}, Case{"lowlight_2.jpg", {1750, 700, 550, 800}}}) {
    const cv::Mat rgb = photo(c.name);
    EXPECT_TRUE(detect(rgb, options(fm::DetectorKind::ssd)).empty()) << c.name;
    for (const auto kind : {fm::DetectorKind::ssd, fm::DetectorKind::cascade}) {
      const auto faces = detect(rgb, with_retry(kind));
      ASSERT_EQ(faces.size(), 1u) << c.name << " " << fm::to_string(kind);
      const cv::Rect2d& box = faces[0].box;
      const cv::Point2d centre(box.x + box.width / 2, box.y + box.height / 2);
      EXPECT_TRUE(c.face_region.contains(centre)) << c.name << " centre " << centre;
      EXPECT_GT(box.width, 250) << c.name;
      EXPECT_LT(box.width, 1000) << c.name;
      EXPECT_GT(box.height, box.width * 0.8) << c.name;
      EXPECT_LT(box.height, box.width * 2.0) << c.name;
    }
  }
}

// Labelled one-face photos made dark: the retry finds the face where face-api finds none, and its box is
// the one face-api finds in the original photo.
TEST(LowLight, RetryFindsDarkenedFacesWhereTheyAre) {
  int retried = 0;
  for (const char* name : {"obama_1.jpg", "biden_1.jpg", "hugh_laurie_1.jpg", "rose_leslie_1.jpg",
                           "kit_harington_1.jpg", "glasses_woman.jpg"}) {
    const cv::Mat rgb = photo(name);
    const auto lit = detect(rgb, options(fm::DetectorKind::ssd));
    ASSERT_EQ(lit.size(), 1u) << name;
    const cv::Mat dark = darken(rgb);
    ASSERT_TRUE(fm::is_low_light(dark)) << name;
    const auto plain = detect(dark, options(fm::DetectorKind::ssd));
    const auto found = detect(dark, with_retry(fm::DetectorKind::ssd));
    ASSERT_GE(found.size(), 1u) << name;
    EXPECT_GT(iou(found[0].box, lit[0].box), 0.5) << name;
    if (plain.empty()) ++retried;
  }
  EXPECT_GE(retried, 4) << "the darkened photos should mostly defeat the plain detector";
}

// The retry lowers the score threshold, so it must not invent faces: the no-face photos, lit and made
// dark, and the empty dark backgrounds of the low-light photos stay empty.
TEST(LowLight, RetryAddsNoFacesToPhotosWithout) {
  std::vector<std::pair<std::string, cv::Mat>> cases;
  for (const char* name : {"noface_grass.jpg", "noface_penguin_drawing.jpg"}) {
    cases.emplace_back(name, photo(name));
    cases.emplace_back(std::string(name) + " darkened", darken(photo(name)));
  }
  const cv::Mat ll1 = photo("lowlight_1.jpg"), ll2 = photo("lowlight_2.jpg");
  cases.emplace_back("lowlight_1 left wall", ll1(cv::Rect(0, 0, 900, 3120)).clone());
  cases.emplace_back("lowlight_1 top", ll1(cv::Rect(0, 0, 4160, 500)).clone());
  cases.emplace_back("lowlight_2 right wall", ll2(cv::Rect(2700, 0, 1460, 3120)).clone());
  cases.emplace_back("lowlight_2 left wall", ll2(cv::Rect(100, 0, 1050, 3120)).clone());
  for (const auto& [what, rgb] : cases)
    for (const auto kind : {fm::DetectorKind::ssd, fm::DetectorKind::tiny, fm::DetectorKind::cascade})
      EXPECT_TRUE(detect(rgb, with_retry(kind)).empty()) << what << " " << fm::to_string(kind);
}

// face-api's SSD finds 7 of the 9 faces in this 2310x2128 photo; 2x2 tiles find all nine, once each.
TEST(Tiles, FindAllNineFacesOfTheGroupPhoto) {
  const cv::Mat rgb = photo("multi_group_smile.jpg");
  EXPECT_EQ(detect(rgb, options(fm::DetectorKind::ssd)).size(), 7u);
  auto o = options(fm::DetectorKind::ssd);
  o.tile_min_side = 1024;
  const auto faces = detect(rgb, o);
  EXPECT_EQ(faces.size(), 9u);
  for (std::size_t i = 0; i < faces.size(); ++i) {
    EXPECT_GT(faces[i].box.width, 150) << i;  // faces, not fragments of faces
    EXPECT_LT(faces[i].box.width, 400) << i;
    if (i > 0) {
      EXPECT_LE(faces[i].score, faces[i - 1].score);
    }
    for (std::size_t j = 0; j < i; ++j) EXPECT_LT(iou(faces[i].box, faces[j].box), 0.1) << i << " " << j;
  }
}

TEST(Tiles, SmallPhotosAreNotTiled) {
  const cv::Mat rgb = photo("obama_1.jpg");
  auto o = options(fm::DetectorKind::ssd);
  o.tile_min_side = std::max(rgb.cols, rgb.rows) + 1;
  expect_same(detect(rgb, o), detect(rgb, options(fm::DetectorKind::ssd)), "obama_1");
}

TEST(Tiles, NoFacePhotosStayEmpty) {
  auto o = options(fm::DetectorKind::ssd);
  o.tile_min_side = 256;
  for (const char* name : {"noface_grass.jpg", "noface_penguin_drawing.jpg"})
    EXPECT_TRUE(detect(photo(name), o).empty()) << name;
}

// tiny misses these two photos entirely; the cascade then asks SSD and returns exactly its faces.
TEST(Cascade, AsksSsdWhenTinyFindsNothing) {
  for (const char* name : {"kit_harington_3.jpg", "paul_rudd.jpg"}) {
    const cv::Mat rgb = photo(name);
    ASSERT_TRUE(detect(rgb, options(fm::DetectorKind::tiny)).empty()) << name;
    const auto ssd = detect(rgb, options(fm::DetectorKind::ssd));
    ASSERT_FALSE(ssd.empty()) << name;
    expect_same(detect(rgb, options(fm::DetectorKind::cascade)), ssd, name);
  }
}

TEST(Cascade, KeepsTinysFacesWhenTinyIsSure) {
  const cv::Mat rgb = photo("obama_1.jpg");
  const auto tiny = detect(rgb, options(fm::DetectorKind::tiny));
  ASSERT_FALSE(tiny.empty());
  ASSERT_GE(tiny[0].score, options(fm::DetectorKind::cascade).cascade_sure_score);
  expect_same(detect(rgb, options(fm::DetectorKind::cascade)), tiny, "obama_1");
}

TEST(Cascade, AsksSsdWhenTinyIsUnsure) {
  const cv::Mat rgb = photo("obama_1.jpg");
  auto o = options(fm::DetectorKind::cascade);
  o.cascade_sure_score = 1.f;  // tiny is never sure
  expect_same(detect(rgb, o), detect(rgb, options(fm::DetectorKind::ssd)), "obama_1");
}

TEST(Fallback, TinyFallsBackToSsd) {
  const cv::Mat rgb = photo("paul_rudd.jpg");
  auto o = options(fm::DetectorKind::tiny);
  o.fallback_other = true;
  expect_same(detect(rgb, o), detect(rgb, options(fm::DetectorKind::ssd)), "paul_rudd");
}

// Through the pipeline: `--detector cascade` reaches landmarks like any detector.
TEST(Cascade, WorksInThePipeline) {
  fm::Verifier verifier(fm::testing::shared_models(), 1);
  fm::PipelineOptions o;
  o.detector.kind = fm::DetectorKind::cascade;
  const auto faces = verifier.detect(photo("multi_obama_biden.jpg"), o);
  EXPECT_GE(faces.size(), 2u);
  const auto analysis = verifier.analyze(photo("paul_rudd.jpg"), o);
  EXPECT_EQ(analysis.faces.size(), 1u);
}
