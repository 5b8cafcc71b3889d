// The calibration step of `--precision int8`: runs what the default pipeline feeds each net on the
// calibration photos through the fp32 nets and records, for every value of each net, the largest
// magnitude it takes: the recognition net on face chips (each chip and its mirror image, as flip averaging
// embeds them), the landmark net on the compared face's crop, the tiny detector (416) on each photo.
// Writes the int8 range file that data/int8-ranges.json holds (tools/calibrate-int8.sh runs this and
// copies the file there).
//
//   facematch_calibrate_int8 MODELS_DIR CALIBRATION_DIR OUT.json [IMAGES] [SKIP_PAIRS] [QUANTILE]
//
// IMAGES (default 400) distinct photos are taken from pairs.csv in order, after the first SKIP_PAIRS
// pairs (default 60): those are the ones the int8 gate test judges, so it judges photos the ranges
// were not measured on. A value's range is the QUANTILE (default 0.99) of its per-input maxima: below 1
// it clips the rarest extremes to give every other input finer steps (1 takes the largest).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <set>
#include <string>
#include <vector>

#include "engine/executor.hpp"
#include "facematch/align.hpp"
#include "facematch/error.hpp"
#include "facematch/evaluate.hpp"
#include "facematch/image.hpp"
#include "facematch/models.hpp"
#include "facematch/verifier.hpp"
#include "image/face_api_resize.hpp"
#include "image/quarter_turn.hpp"
#include "models/landmark68_net.hpp"
#include "models/model_registry.hpp"
#include "models/recognition_net.hpp"
#include "models/tiny_face_detector_net.hpp"

namespace fm = facematch;

namespace {

// One net's runner and the per-input maxima of each of its values.
struct Calibrated {
  explicit Calibrated(fm::engine::NetDescription description)
      : runner(std::make_shared<const fm::engine::CompiledNet>(std::move(description), 1)) {}
  fm::engine::NetRunner runner;
  std::vector<std::vector<float>> input_ranges;  // per input, per value

  void run() {
    runner.run();
    fm::engine::update_value_ranges(runner, input_ranges.emplace_back());
  }
  // Each value's range: the quantile of its per-input maxima.
  std::vector<float> ranges(double quantile) const {
    const std::size_t inputs = input_ranges.size();
    std::vector<float> out(input_ranges.front().size());
    std::vector<float> maxima(inputs);
    const auto rank = static_cast<std::size_t>(std::lround(quantile * static_cast<double>(inputs - 1)));
    for (std::size_t v = 0; v < out.size(); ++v) {
      for (std::size_t c = 0; c < inputs; ++c) maxima[c] = input_ranges[c][v];
      std::nth_element(maxima.begin(), maxima.begin() + static_cast<std::ptrdiff_t>(rank), maxima.end());
      out[v] = maxima[rank];
    }
    return out;
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr
        << "usage: facematch_calibrate_int8 MODELS_DIR CALIBRATION_DIR OUT.json [IMAGES] [SKIP_PAIRS]\n";
    return 2;
  }
  const std::filesystem::path models_dir = argv[1], root = argv[2], out_path = argv[3];
  const std::size_t wanted = argc > 4 ? std::strtoul(argv[4], nullptr, 10) : 400;
  const std::size_t skip_pairs = argc > 5 ? std::strtoul(argv[5], nullptr, 10) : 60;
  const double quantile = argc > 6 ? std::strtod(argv[6], nullptr) : 0.99;
  try {
    fm::engine::set_threads_for_this_thread(1);
    const auto models = fm::Models::load(models_dir);
    const auto pairs = fm::read_pairs_csv(root / "pairs.csv");
    std::vector<std::string> images;
    std::set<std::string> seen;
    for (std::size_t i = std::min(skip_pairs, pairs.size()); i < pairs.size() && images.size() < wanted; ++i)
      for (const auto* name : {&pairs[i].first, &pairs[i].second})
        if (images.size() < wanted && seen.insert(*name).second) images.push_back(*name);

    // Chips as the default pipeline makes them (its detector, landmarks and similarity alignment).
    fm::Verifier verifier(models, 1);
    const auto options = fm::recommended_pipeline();
    Calibrated recognition(
        fm::models::describe_recognition_net(models->weights(fm::models::kRecognitionModel)));
    Calibrated landmarks(fm::models::describe_landmark68_net(models->weights(fm::models::kLandmark68Model)));
    const auto& tiny_spec = fm::models::model_spec(fm::models::kTinyFaceDetectorModel);
    Calibrated tiny(fm::models::describe_tiny_face_detector(
        models->weights(fm::models::kTinyFaceDetectorModel), tiny_spec.input_size));
    const auto& landmark_spec = fm::models::model_spec(fm::models::kLandmark68Model);
    std::size_t without_face = 0;
    for (const auto& name : images) {
      const cv::Mat rgb = fm::read_image(root / name);
      // The tiny detector sees every photo (the cascade's first stage), as TinyFaceDetector::detect feeds it.
      fm::face_api_net_input(rgb, tiny_spec.input_size, /*center=*/false, tiny_spec.normalization,
                             tiny.runner.input());
      tiny.run();
      const auto faces = verifier.detect(rgb, options);
      if (faces.empty()) {
        ++without_face;
        continue;
      }
      const auto& face = faces[fm::choose_face(faces, options.face_policy)];
      // The landmark net's input as LandmarkDetector::detect makes it: the box's crop, turned upright.
      const cv::Rect crop = fm::clip_and_floor(face.detection.box, rgb.cols, rgb.rows);
      fm::face_api_net_input(fm::turn_clockwise(rgb(crop), face.detection.upright_turns),
                             landmark_spec.input_size, /*center=*/true, landmark_spec.normalization,
                             landmarks.runner.input());
      landmarks.run();
      const cv::Mat chip = fm::extract_chip(rgb, face, options.align);
      cv::Mat mirrored;
      cv::flip(chip, mirrored, 1);
      for (const cv::Mat* item : {&chip, static_cast<const cv::Mat*>(&mirrored)}) {
        fm::normalize_hwc(*item, fm::kFaceNormalization, recognition.runner.input());
        recognition.run();
      }
    }
    const std::size_t chips = recognition.input_ranges.size();
    if (chips == 0) throw fm::Error(fm::ErrorCode::no_face, "no face found in any calibration image");
    if (!(quantile > 0 && quantile <= 1))
      throw fm::Error(fm::ErrorCode::invalid_argument, "QUANTILE must be in (0, 1]");
    nlohmann::json nets;
    for (const Calibrated* net : {&recognition, &landmarks, &tiny}) {
      const auto ranges = net->ranges(quantile);
      nets[net->runner.net().description().name()] = {
          {"values", ranges.size()}, {"inputs", net->input_ranges.size()}, {"ranges", ranges}};
    }
    const nlohmann::json out = {
        {"format", "facematch-int8-ranges"},
        {"version", 1},
        {"tool", "tools/calibrate-int8.sh (facematch_calibrate_int8)"},
        {"calibration",
         {{"images", images.size() - without_face},
          {"chips", chips},
          {"skipped_pairs", skip_pairs},
          {"quantile_of_chip_maxima", quantile},
          {"pipeline",
           "recommended (cascade detector, similarity alignment); recognition: chip and mirror of the "
           "compared face; landmarks: its crop; tiny detector: every photo"}}},
        {"nets", nets}};
    std::ofstream file(out_path);
    file << out.dump(1) << "\n";
    if (!file) throw fm::Error(fm::ErrorCode::io_error, "cannot write " + out_path.string());
    std::cerr << "facematch_calibrate_int8: " << chips << " chips from " << images.size() - without_face
              << " photos (" << without_face << " without a face) -> " << out_path << "\n";
    return 0;
  } catch (const fm::Error& e) {
    std::cerr << "facematch_calibrate_int8: " << e.what() << "\n";
    return 2;
  }
}
