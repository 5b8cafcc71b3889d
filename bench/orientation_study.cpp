// The study behind the upside-down check of the pipeline (docs/detection-recall.md, "Photos turned
// without EXIF"): for each face of the recall set (bench/recall_set.hpp), the landmark net's reading of
// it under each quarter turn, and how far each reading lies from a face's shape (mean_face_misfit).
// Not a test. Prints one CSV row per face found (misfit_N: the face read turned N quarters clockwise):
//
//   orientation_study MODELS_DIR --calibration DIR [--limit N [--turns]]   (--turns: quarter-turn retry on)
//   variant,photo,truth_turns,found_turns,score,misfit_0,misfit_1,misfit_2,misfit_3
#include <cstdio>
#include <iostream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

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
  PipelineOptions options = recommended_pipeline();
  options.limits.max_bytes = 3 * options.limits.max_pixels + 4096;
  options.detector.retry_quarter_turns = argc >= 7 && std::string(argv[6]) == "--turns";
  std::printf("variant,photo,truth_turns,found_turns,score,misfit_0,misfit_1,misfit_2,misfit_3\n");
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
        std::printf("%s,%s,%d,%d,%.3f,%.4f,%.4f,%.4f,%.4f\n", variant.name.c_str(), name.c_str(),
                    image.upright_turns, f.detection.upright_turns, f.detection.score, misfit[0], misfit[1],
                    misfit[2], misfit[3]);
      }
    }
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << "orientation_study: " << e.what() << "\n";
  return 1;
}
