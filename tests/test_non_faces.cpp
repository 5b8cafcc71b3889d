// No verdict of "same person" without a real face in both images, under the pipeline the CLI and the
// service run: every input of non_faces.hpp is refused (over HTTP in test_server.cpp), while real faces
// that fill the frame, as the original API's clients send them, are still found and matched.
#include <gtest/gtest.h>

#include <algorithm>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "facematch/error.hpp"
#include "facematch/verifier.hpp"
#include "non_faces.hpp"
#include "test_support.hpp"

namespace fm = facematch;

namespace {

fm::Verifier& verifier() {
  static fm::Verifier v(fm::testing::shared_models(), 1);
  return v;
}

cv::Mat shared_rgb(const std::string& name) {
  cv::Mat bgr = cv::imread((fm::testing::shared_dir() / "faces" / name).string()), rgb;
  if (bgr.empty()) throw std::runtime_error("cannot read ../shared/faces/" + name);
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

// A square of `factor` times the face box's side around the face, resized to side x side: factor 1
// is a crop the face fills edge to edge.
cv::Mat face_crop(const cv::Mat& rgb, double factor, int side) {
  const auto faces = verifier().detect(rgb, fm::recommended_pipeline());
  if (faces.empty()) throw std::runtime_error("no face to crop");
  const auto& b = faces[fm::choose_face(faces, fm::FacePolicy::largest)].detection.box;
  const int crop = static_cast<int>(std::max(b.width, b.height) * factor);
  cv::Mat canvas;
  cv::copyMakeBorder(rgb, canvas, crop, crop, crop, crop, cv::BORDER_CONSTANT, cv::Scalar::all(0));
  const cv::Rect r(static_cast<int>(b.x + b.width / 2) - crop / 2 + crop,
                   static_cast<int>(b.y + b.height / 2) - crop / 2 + crop, crop, crop);
  cv::Mat out;
  cv::resize(canvas(r), out, cv::Size(side, side), 0, 0, cv::INTER_AREA);
  return out;
}

fm::ErrorCode analysis_error(const cv::Mat& rgb) {
  try {
    verifier().analyze(rgb, fm::recommended_pipeline());
  } catch (const fm::Error& e) {
    return e.code();
  }
  return fm::ErrorCode::internal;  // analysed as a face: the caller's assertion names the input
}

TEST(NonFaces, NoneGivesAFaceToCompare) {
  // A verify compares the faces analyse() chooses, so an input refused here can say "Yes" to nothing.
  for (const auto& input : fm::testing::non_faces()) {
    const auto code = analysis_error(input.rgb);
    EXPECT_TRUE(code == fm::ErrorCode::no_face || code == fm::ErrorCode::low_quality)
        << input.name << " was analysed as a face (" << fm::to_string(code) << ")";
  }
}

TEST(NonFaces, HalfAFaceIsCutOffButAFaceAtTheEdgeIsCompared) {
  const auto all = fm::testing::non_faces();
  const auto& cut =
      std::find_if(all.begin(), all.end(), [](const auto& n) { return n.name == "half_face"; })->rgb;
  // The detector does find it (score 0.97): only the cut-off rule keeps it from matching obama_2.
  const auto faces = verifier().detect(cut, fm::recommended_pipeline());
  ASSERT_EQ(faces.size(), 1u);
  EXPECT_GT(fm::inner_face_outside_fraction(faces[0], cut.cols, cut.rows), fm::kMaxInnerFaceOutside);
  try {
    verifier().verify(shared_rgb("obama_2.jpg"), cut, fm::recommended_pipeline());
    ADD_FAILURE() << "half a face was compared";
  } catch (const fm::Error& e) {
    EXPECT_EQ(e.code(), fm::ErrorCode::low_quality);
    EXPECT_NE(std::string(e.what()).find("second image: the face is cut off"), std::string::npos) << e.what();
  }
  // obama_partial_face.jpg loses an eye corner to the left edge and is still the same person.
  const auto v = verifier().verify(shared_rgb("obama_2.jpg"), shared_rgb("obama_partial_face.jpg"),
                                   fm::recommended_pipeline());
  EXPECT_TRUE(v.verified) << v.distance;
}

TEST(NonFaces, FacesThatFillTheFrameAreStillFoundAndMatched) {
  // The original API's inputs: 224x224, the face from edge to edge.
  const auto a = face_crop(shared_rgb("obama_1.jpg"), 1.0, 224);
  const auto b = face_crop(shared_rgb("obama_2.jpg"), 1.0, 224);
  const auto c = face_crop(shared_rgb("biden_1.jpg"), 1.0, 224);
  const auto same = verifier().verify(a, b, fm::recommended_pipeline());
  EXPECT_TRUE(same.verified) << same.distance;
  const auto different = verifier().verify(a, c, fm::recommended_pipeline());
  EXPECT_FALSE(different.verified) << different.distance;
}

}  // namespace
