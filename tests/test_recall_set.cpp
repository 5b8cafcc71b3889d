// The recall set of bench/detection_recall (docs/detection-recall.md): each variant must carry the face's
// box to where the face's pixels went, or its recall figures measure the bookkeeping, not the detector.
// A synthetic photo with a white "face" rectangle on black shows where the pixels went.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>
#include <set>

#include "facematch/error.hpp"
#include "recall_set.hpp"

namespace recall = facematch::recall;

namespace {

recall::FaceImage white_face_photo(cv::Size size, const cv::Rect& face) {
  cv::Mat rgb(size, CV_8UC3, cv::Scalar::all(0));
  rgb(face).setTo(cv::Scalar::all(255));
  return {rgb, cv::Rect2d(face)};
}

cv::Mat bright(const cv::Mat& rgb) {
  cv::Mat grey, mask;
  cv::cvtColor(rgb, grey, cv::COLOR_RGB2GRAY);
  cv::threshold(grey, mask, 127, 255, cv::THRESH_BINARY);
  return mask;
}

// Where the white face ended up: the bounding box of its bright pixels.
cv::Rect2d bright_box(const cv::Mat& rgb) { return cv::boundingRect(bright(rgb)); }

void expect_box_near(const cv::Rect2d& actual, const cv::Rect2d& expected, double tolerance) {
  EXPECT_NEAR(actual.x, expected.x, tolerance);
  EXPECT_NEAR(actual.y, expected.y, tolerance);
  EXPECT_NEAR(actual.width, expected.width, tolerance);
  EXPECT_NEAR(actual.height, expected.height, tolerance);
}

const cv::Size kPhoto(400, 300);
const cv::Rect kFace(150, 80, 60, 80);

}  // namespace

TEST(RecallSet, CropsCentreTheFaceAndPadWithBlack) {
  const auto photo = white_face_photo(kPhoto, kFace);
  const auto portrait = recall::crop_around_face(photo, 2.2, 250);
  ASSERT_EQ(portrait.rgb.size(), cv::Size(250, 250));
  // The face's longer side (80) is 1/2.2 of the frame.
  EXPECT_NEAR(portrait.face.height, 250 / 2.2, 1.0);
  expect_box_near(portrait.face, bright_box(portrait.rgb), 2.0);
  EXPECT_NEAR(portrait.face.x + portrait.face.width / 2, 125, 1.0);

  // A face at the photo's corner: the crop leaves the photo, and what lies outside is black.
  const auto corner = white_face_photo(kPhoto, cv::Rect(0, 0, 50, 50));
  const auto tight = recall::crop_around_face(corner, 1.2, 224);
  ASSERT_EQ(tight.rgb.size(), cv::Size(224, 224));
  expect_box_near(tight.face, bright_box(tight.rgb), 2.0);
  EXPECT_EQ(cv::countNonZero(bright(tight.rgb)(cv::Rect(0, 0, 10, 10))), 0);
}

TEST(RecallSet, SquashScalesEachAxisOnItsOwn) {
  const auto photo = white_face_photo(kPhoto, kFace);
  const auto squashed = recall::squash(photo, 224);
  ASSERT_EQ(squashed.rgb.size(), cv::Size(224, 224));
  expect_box_near(squashed.face, cv::Rect2d(150 * 0.56, 80 * 224.0 / 300, 60 * 0.56, 80 * 224.0 / 300), 1e-9);
  expect_box_near(squashed.face, bright_box(squashed.rgb), 2.0);
}

TEST(RecallSet, QuarterTurnsCarryTheFace) {
  const auto photo = white_face_photo(kPhoto, kFace);
  for (const int quarters : {1, 2, 3}) {
    const auto turned = recall::turn(photo, quarters);
    EXPECT_EQ(turned.rgb.size(), quarters == 2 ? kPhoto : cv::Size(kPhoto.height, kPhoto.width));
    expect_box_near(turned.face, bright_box(turned.rgb), 0.0);
  }
  EXPECT_THROW(recall::turn(photo, 4), facematch::Error);
}

// A face counts as read upright within 45 degrees: a photo turned a quarter clockwise only when the
// detector turns it back, a face rolled 45 degrees as it lies or a quarter turn the other way.
TEST(RecallSet, UprightMeansWithin45DegreesOfTheFaceAsRead) {
  const auto photo = white_face_photo(kPhoto, kFace);
  EXPECT_TRUE(recall::reads_upright(photo, 0));
  EXPECT_FALSE(recall::reads_upright(photo, 1));
  const auto clockwise = recall::turn(photo, 1);
  EXPECT_EQ(clockwise.upright_turns, 3);
  for (const int turns : {0, 1, 2}) EXPECT_FALSE(recall::reads_upright(clockwise, turns)) << turns;
  EXPECT_TRUE(recall::reads_upright(clockwise, 3));
  EXPECT_TRUE(recall::reads_upright(recall::turn(photo, 2), 2));
  const auto rolled = recall::roll(photo, 45);  // counter-clockwise
  EXPECT_TRUE(recall::reads_upright(rolled, 0));
  EXPECT_TRUE(recall::reads_upright(rolled, 1));
  EXPECT_FALSE(recall::reads_upright(rolled, 3));
  EXPECT_FALSE(recall::reads_upright(recall::roll(photo, 30), 1));
}

TEST(RecallSet, RollTurnsAboutTheFaceWithoutCuttingThePhoto) {
  // A grey photo: the rolled canvas must hold all of it (as many non-black pixels as before).
  recall::FaceImage photo = white_face_photo(kPhoto, kFace);
  photo.rgb.setTo(cv::Scalar::all(100));
  photo.rgb(kFace).setTo(cv::Scalar::all(255));
  for (const double degrees : {15.0, 45.0, -30.0}) {
    const auto rolled = recall::roll(photo, degrees);
    cv::Mat grey;
    cv::cvtColor(rolled.rgb, grey, cv::COLOR_RGB2GRAY);
    EXPECT_NEAR(cv::countNonZero(grey > 50), kPhoto.area(), 0.01 * kPhoto.area()) << degrees;
    // The face keeps its size and its centre is where the white pixels' centre went.
    EXPECT_DOUBLE_EQ(rolled.face.width, kFace.width);
    EXPECT_DOUBLE_EQ(rolled.face.height, kFace.height);
    const cv::Moments m = cv::moments(bright(rolled.rgb), true);
    EXPECT_NEAR(m.m10 / m.m00, rolled.face.x + rolled.face.width / 2, 1.0) << degrees;
    EXPECT_NEAR(m.m01 / m.m00, rolled.face.y + rolled.face.height / 2, 1.0) << degrees;
    EXPECT_NEAR(m.m00, kFace.area(), 0.03 * kFace.area()) << degrees;
  }
  // Counter-clockwise for positive angles: a grey patch right of the face ends up above it.
  recall::FaceImage marked = white_face_photo(kPhoto, kFace);
  marked.rgb(cv::Rect(300, 110, 20, 20)).setTo(cv::Scalar::all(150));
  const auto rolled = recall::roll(marked, 90);
  cv::Mat grey;
  cv::cvtColor(rolled.rgb, grey, cv::COLOR_RGB2GRAY);
  const cv::Moments patch = cv::moments((grey > 100) & (grey < 200), true);
  const cv::Point2d face_centre(rolled.face.x + rolled.face.width / 2,
                                rolled.face.y + rolled.face.height / 2);
  EXPECT_NEAR(patch.m10 / patch.m00, face_centre.x, 2.0);
  EXPECT_NEAR(patch.m01 / patch.m00, face_centre.y - 130, 2.0);  // the patch's centre was 130 px right
}

TEST(RecallSet, ShrinkMakesTheFaceThatWide) {
  const auto photo = white_face_photo(kPhoto, kFace);
  const auto small = recall::shrink_face_to(photo, 24);
  EXPECT_NEAR(small.face.width, 24, 0.2);
  EXPECT_EQ(small.rgb.size(), cv::Size(160, 120));
  expect_box_near(small.face, bright_box(small.rgb), 1.0);
}

TEST(RecallSet, DarkHasTheTargetMeanLumaAndIsRepeatable) {
  cv::Mat gradient(300, 400, CV_8UC3);
  for (int x = 0; x < gradient.cols; ++x)
    gradient.col(x).setTo(cv::Scalar::all(static_cast<double>(60 + x * 150 / gradient.cols)));
  const recall::FaceImage photo{gradient, cv::Rect2d(kFace)};
  const auto dark = recall::darken(photo, 25, 1.5, 3, 12);
  EXPECT_NEAR(recall::mean_luma(dark.rgb), 25, 1.0);
  EXPECT_EQ(dark.face, photo.face);
  cv::Mat difference;
  cv::absdiff(dark.rgb, recall::darken(photo, 25, 1.5, 3, 12).rgb, difference);
  EXPECT_EQ(cv::countNonZero(difference.reshape(1)), 0);
  // The noise is there: the same row is not flat any more.
  cv::Scalar mean, stddev;
  cv::meanStdDev(dark.rgb.col(200), mean, stddev);
  EXPECT_GT(stddev[0], 2.0);
}

TEST(RecallSet, MatchNeedsOverlapOrTheCentreInsideAtASimilarSize) {
  const cv::Rect2d face(100, 100, 100, 100);
  EXPECT_TRUE(recall::matches_face(face, face));
  EXPECT_TRUE(recall::matches_face(cv::Rect2d(140, 140, 100, 100), face));   // IoU 0.22, centre inside
  EXPECT_FALSE(recall::matches_face(cv::Rect2d(160, 160, 100, 100), face));  // centre outside
  EXPECT_TRUE(recall::matches_face(cv::Rect2d(0, 0, 200, 200), face));       // IoU 0.25, twice the side
  EXPECT_FALSE(recall::matches_face(cv::Rect2d(0, 0, 250, 250), face));      // too large
  EXPECT_FALSE(recall::matches_face(cv::Rect2d(140, 140, 40, 40), face));    // too small
}

TEST(RecallSet, EveryVariantAndNonFaceIsNamedOnce) {
  const auto photo = white_face_photo(kPhoto, kFace);
  std::set<std::string> names;
  for (const auto& v : recall::standard_variants()) {
    EXPECT_TRUE(names.insert(v.name).second) << v.name;
    const auto image = v.make(photo);
    EXPECT_EQ(image.rgb.type(), CV_8UC3) << v.name;
  }
  EXPECT_EQ(names.size(), 17u);
  names.clear();
  for (const auto& input : recall::synthetic_non_faces(photo.rgb)) {
    EXPECT_TRUE(names.insert(input.name).second) << input.name;
    EXPECT_EQ(input.rgb.type(), CV_8UC3) << input.name;
  }
  EXPECT_EQ(names.size(), 10u);
}
