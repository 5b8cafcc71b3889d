// The study behind the pipeline's check of which way up a face stands (docs/detection-recall.md, "Photos
// turned without EXIF"): for each face of the recall set (bench/recall_set.hpp) and each quarter turn N
// clockwise, BlazeFace's score logit of the face turned so (blaze_N, detect/upright_judge.hpp) and the
// angle of its eyes as the face lies (eye_angle_0), and how
// far the landmark net's reading of it lies from a face's shape (misfit_N, mean_face_misfit; rejected as
// a signal). Not a test. Prints one CSV row per face found:
//
//   orientation_study MODELS_DIR --calibration DIR [--limit N [--turns]]   (--turns: quarter-turn retry on)
//   variant,photo,truth_turns,found_turns,score,misfit_0..3,blaze_0..3,eye_angle_0
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "detect/upright_judge.hpp"
#include "facematch/align.hpp"
#include "facematch/error.hpp"
#include "facematch/image.hpp"
#include "facematch/landmarks.hpp"
#include "facematch/verifier.hpp"
#include "recall_set.hpp"

using namespace facematch;

int main(int argc, char** argv) try {
  if (argc < 4 || std::string(argv[2]) != "--calibration") {
    std::cerr << "usage: orientation_study MODELS_DIR --calibration DIR [--limit N [--turns]]\n";
    return 2;
  }
  const std::string dir = argv[3];
  const std::size_t limit = argc >= 6 ? std::stoul(argv[5]) : 100;
  const auto models = Models::load(argv[1]);
  const Verifier verifier(models, 1);
  LandmarkDetector landmarks(models);
  // ORIENTATION_STUDY_INPUT_SIZE: the side BlazeFace sees each face's square at (default: the judge's);
  // ORIENTATION_STUDY_PRECISION: its arithmetic (default fp32).
  const char* size = std::getenv("ORIENTATION_STUDY_INPUT_SIZE");
  const char* precision = std::getenv("ORIENTATION_STUDY_PRECISION");
  UprightJudge judge(models->with_precision(parse_precision(precision ? precision : "fp32")),
                     size ? std::atoi(size) : 0);
  static constexpr int kTurns[] = {0, 1, 2, 3};
  PipelineOptions options = recommended_pipeline();
  options.limits.max_bytes = 3 * options.limits.max_pixels + 4096;
  options.detector.retry_quarter_turns = argc >= 7 && std::string(argv[6]) == "--turns";
  std::printf(
      "variant,photo,truth_turns,found_turns,score,misfit_0,misfit_1,misfit_2,misfit_3,blaze_0,blaze_1,blaze_"
      "2,"
      "blaze_3,eye_angle_0\n");
  for (const auto& name : recall::recall_set_photos(dir, limit)) {
    const std::string path = dir + "/" + name;
    recall::FaceImage original;
    try {
      const ImageAnalysis truth = verifier.detect_file(path, recommended_pipeline());
      if (truth.faces.empty()) continue;
      const Detection& face = truth.faces[choose_face(truth.faces, FacePolicy::largest)].detection;
      if (face.score < 0.8) continue;
      original = {read_image(path), face.box};
    } catch (const Error&) {
      continue;
    }
    for (const auto& variant : recall::standard_variants()) {
      const recall::FaceImage image = variant.make(original);
      const ImageAnalysis found = verifier.detect_encoded(recall::as_bmp(image.rgb), options);
      for (const Face& f : found.faces) {
        if (!recall::matches_face(f.detection.box, image.face)) continue;
        double misfit[4];
        for (int turns = 0; turns < 4; ++turns) {
          Detection turned = f.detection;
          turned.upright_turns = turns;
          misfit[turns] = mean_face_misfit(landmarks.detect(image.rgb, turned));
        }
        const auto blaze = judge.turn_looks(image.rgb, f.detection.box, kTurns);
        std::printf("%s,%s,%d,%d,%.3f,%.4f,%.4f,%.4f,%.4f,%.3f,%.3f,%.3f,%.3f,%.1f\n", variant.name.c_str(),
                    name.c_str(), image.upright_turns, f.detection.upright_turns, f.detection.score,
                    misfit[0], misfit[1], misfit[2], misfit[3], blaze[0].logit, blaze[1].logit,
                    blaze[2].logit, blaze[3].logit, blaze[0].eye_angle_deg);
      }
    }
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << "orientation_study: " << e.what() << "\n";
  return 1;
}
