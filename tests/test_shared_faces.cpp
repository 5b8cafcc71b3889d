// Real labelled photos (../shared/faces): face counts, decode errors, no-face photos and verification
// accuracy of the production pipeline over the 48 labelled pairs.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <tuple>

#include "facematch/error.hpp"
#include "facematch/verifier.hpp"
#include "test_support.hpp"

namespace fm = facematch;

namespace {

std::filesystem::path faces_dir() {
  const auto dir = fm::testing::shared_dir() / "faces";
  fm::testing::require_file(dir / "manifest.csv",
                            "the labelled photos live in ../shared/faces (or $FACEMATCH_SHARED/faces)");
  return dir;
}

std::vector<std::vector<std::string>> read_csv(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) cells.push_back(cell);
    rows.push_back(cells);
  }
  return rows;
}

fm::ErrorCode error_code(const std::function<void()>& f) {
  try {
    f();
  } catch (const fm::Error& e) {
    return e.code();
  }
  return fm::ErrorCode::internal;
}

// Photos where face-api's own SSD pipeline finds fewer faces than are there; doing better is the
// calibration issue's job, so these assert what the reference finds.
const std::map<std::string, std::size_t> kKnownMisses = {
    {"lowlight_1.jpg", 0}, {"lowlight_2.jpg", 0}, {"multi_group_smile.jpg", 7}};

}  // namespace

TEST(SharedFaces, FaceCountsMatchTheManifest) {
  fm::Verifier verifier(fm::testing::shared_models(), 1);
  fm::PipelineOptions options;
  for (const auto& row : read_csv(faces_dir() / "manifest.csv")) {
    const std::string& img = row[0];
    const std::string& tags = row[3];
    if (tags.find("corrupt") != std::string::npos) {
      EXPECT_EQ(error_code([&] { fm::read_image(faces_dir() / img); }), fm::ErrorCode::bad_image) << img;
      continue;
    }
    const auto rgb = fm::read_image(faces_dir() / img);
    const auto faces = verifier.detect(rgb, options);
    const std::size_t min_faces = std::stoul(row[2]);
    if (const auto miss = kKnownMisses.find(img); miss != kKnownMisses.end()) {
      EXPECT_GE(faces.size(), miss->second) << img;
    } else if (tags.find("no_face") != std::string::npos) {
      EXPECT_EQ(faces.size(), 0u) << img;
      EXPECT_EQ(error_code([&] { verifier.analyze(rgb, options); }), fm::ErrorCode::no_face) << img;
    } else {
      EXPECT_GE(faces.size(), min_faces) << img;
    }
  }
}

namespace {

struct PairResult {
  int correct = 0, total = 0, errors = 0;
};

PairResult evaluate_pairs(fm::AlignMode align) {
  fm::Verifier verifier(fm::testing::shared_models(), 1);
  fm::PipelineOptions options;
  options.align = align;
  std::map<std::string, fm::Embedding> cache;
  auto embedding = [&](const std::string& img) -> const fm::Embedding& {
    auto it = cache.find(img);
    if (it == cache.end())
      it = cache.emplace(img, verifier.analyze_file(faces_dir() / img, options).chosen_embedding()).first;
    return it->second;
  };
  PairResult r;
  for (const auto& row : read_csv(faces_dir() / "pairs.csv")) {
    ++r.total;
    try {
      const double d = fm::euclidean_distance(embedding(row[0]), embedding(row[1]));
      r.correct += fm::is_match(d, fm::kDefaultThreshold) == (row[2] == "1");
    } catch (const fm::Error& e) {
      ++r.errors;  // a pair with no face counts as wrong
      std::printf("pair %s %s: %s\n", row[0].c_str(), row[1].c_str(), e.what());
    }
  }
  std::printf("align=%s: %d/%d correct (%d errors)\n", std::string(fm::to_string(align)).c_str(), r.correct,
              r.total, r.errors);
  return r;
}

}  // namespace

// Levels measured when this test was written (see docs/accuracy.md); a drop is a regression.
TEST(SharedFaces, VerificationAccuracySimilarityAlignment) {
  const auto r = evaluate_pairs(fm::AlignMode::similarity);
  EXPECT_EQ(r.total, 48);
  EXPECT_GE(r.correct, 48);
}

TEST(SharedFaces, VerificationAccuracyFaceApiAlignment) {
  const auto r = evaluate_pairs(fm::AlignMode::faceapi);
  EXPECT_EQ(r.total, 48);
  EXPECT_GE(r.correct, 48);
}

// The cascade used to keep tiny's one sure face of this photo (0.87) and drop the second adult, which
// tiny scores 0.486 and SSD 0.997: with its doubt band, SSD looks too and both adults are found, so
// each of them is found in it from a portrait of their own.
TEST(SharedFaces, CascadeFindsBothAdultsOfTheGroupPhoto) {
  fm::Verifier verifier(fm::testing::shared_models(), 1);
  const auto group = fm::read_image(faces_dir() / "multi_biden_obama_child.jpg");
  auto options = fm::recommended_pipeline();
  options.precision = fm::Precision::fp32;
  EXPECT_GE(verifier.detect(group, options).size(), 2u);
  for (const char* portrait : {"obama_1.jpg", "biden_1.jpg"}) {
    options.face_policy = fm::FacePolicy::best_match;
    const auto v =
        verifier.verify(fm::read_image(faces_dir() / portrait), group, options, fm::kDefaultThreshold);
    EXPECT_TRUE(v.verified) << portrait << " distance " << v.distance;
  }
  auto without_doubt = options;
  without_doubt.detector.cascade_doubt_score = 0;
  EXPECT_EQ(verifier.detect(group, without_doubt).size(), 1u) << "the mechanism this test is about";
}

// A phone photo taken sideways or upside down reaches us without an EXIF orientation when a client strips
// it: SSD finds most faces lying on their side or upside down, the landmark net does not, so the tiny
// detector (upright faces only) judges which faces lie on their side, BlazeFace which stand upside down, a
// photo without any face is turned until one is found, the landmark net sees the face upright, and the
// chip is the same face. Boxes and landmarks stay in the photo's own coordinates, so they land where the
// turned face is.
// Calibration photos whose face, turned a quarter, was stood up wrongly (docs/detection-recall.md,
// "Photos turned without EXIF"): 7453/188061 leans less than the eyes' rule asks and neither the tiny
// look nor the eyes see it on its side, but BlazeFace scores it a quarter turn far above as it lies;
// 7363/136224 and 7356/000711 are found only in the photo turned whole, where the detectors' scores
// had chosen the wrong side and BlazeFace's choose the right one.
TEST(SharedFaces, CalibrationFacesOnTheirSideAreStoodUpTheRightWay) {
  const auto dir = fm::testing::shared_dir() / "calibration";
  fm::testing::require_file(dir / "pairs.csv", "the shared calibration set (../shared/calibration)");
  fm::Verifier verifier(fm::testing::shared_models(), 1);
  auto options = fm::recommended_pipeline();
  options.precision = fm::Precision::fp32;
  for (const auto& [photo, rotation, turns_back] :
       {std::tuple{"celeba/7453/188061.jpg", cv::ROTATE_90_CLOCKWISE, 3},
        {"celeba/7363/136224.jpg", cv::ROTATE_90_COUNTERCLOCKWISE, 1},
        {"celeba/7356/000711.jpg", cv::ROTATE_90_CLOCKWISE, 3},
        {"celeba/7356/000711.jpg", cv::ROTATE_90_COUNTERCLOCKWISE, 1}}) {
    const auto upright = fm::read_image((dir / photo).string());
    cv::Mat turned;
    cv::rotate(upright, turned, rotation);
    const auto analysis = verifier.analyze(turned, options);
    ASSERT_FALSE(analysis.faces.empty()) << photo << " turned";
    EXPECT_EQ(analysis.faces[0].detection.upright_turns, turns_back) << photo;
  }
}

TEST(SharedFaces, TurnedPhotosAreTurnedUntilTheFaceIsUpright) {
  fm::Verifier verifier(fm::testing::shared_models(), 1);
  auto options = fm::recommended_pipeline();
  options.precision = fm::Precision::fp32;
  const auto upright = fm::read_image(faces_dir() / "obama_1.jpg");
  const auto reference = verifier.analyze(upright, options);
  ASSERT_EQ(reference.faces.size(), 1u);
  const auto& ref_face = reference.faces[0];
  EXPECT_EQ(ref_face.detection.upright_turns, 0);
  const cv::Size size = upright.size();
  // cv::rotate code -> the clockwise quarter turns that stand the face up again.
  for (const auto& [rotation, turns_back] :
       {std::pair{cv::ROTATE_90_CLOCKWISE, 3}, {cv::ROTATE_90_COUNTERCLOCKWISE, 1}, {cv::ROTATE_180, 2}}) {
    cv::Mat turned;
    cv::rotate(upright, turned, rotation);
    auto without = options;
    without.detector.retry_quarter_turns = false;
    // The case this test is about: SSD finds the face lying down, but the landmark net, given it as it
    // lies, gives a chip of no one (or there is no face at all).
    try {
      const auto lying = verifier.verify(upright, turned, without, fm::kDefaultThreshold);
      EXPECT_FALSE(lying.verified) << "turns " << turns_back << " distance " << lying.distance;
    } catch (const fm::Error& e) {
      EXPECT_EQ(e.code(), fm::ErrorCode::no_face) << e.what();
    }

    const auto analysis = verifier.analyze(turned, options);
    ASSERT_EQ(analysis.faces.size(), 1u) << "turns " << turns_back;
    const auto& face = analysis.faces[0];
    EXPECT_EQ(face.detection.upright_turns, turns_back);
    // The turned photo's left eye, turned back, is where the upright photo has it.
    const auto eye_of = [](const fm::Landmarks68& pts) {
      cv::Point2d sum(0, 0);
      for (int i = 36; i <= 41; ++i) sum += pts[static_cast<std::size_t>(i)];
      return sum * (1.0 / 6);
    };
    cv::Point2d eye = eye_of(face.landmarks);
    for (int t = 0; t < turns_back; ++t) {  // undo `rotation` on the point, one clockwise turn at a time
      const double h = (t % 2 == 0) ? turned.rows : turned.cols;
      eye = {h - eye.y, eye.x};
    }
    EXPECT_LT(cv::norm(eye - eye_of(ref_face.landmarks)), 0.05 * size.width) << "turns " << turns_back;
    EXPECT_LT(std::abs(analysis.quality[0].roll_deg - reference.quality[0].roll_deg), 5.0);

    const auto v = verifier.verify(upright, turned, options, fm::kDefaultThreshold);
    EXPECT_TRUE(v.verified) << "turns " << turns_back;
    EXPECT_LT(v.distance, 0.2) << "turns " << turns_back;
  }
}
