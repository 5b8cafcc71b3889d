// The calibration step of `--precision int8`: runs face chips from the calibration photos (each chip and
// its mirror image, as flip averaging embeds them) through the fp32 recognition net and records, for
// every value of the net, the largest magnitude it takes. Writes the int8 range file that
// data/int8-ranges.json holds (tools/calibrate-int8.sh runs this and copies the file there).
//
//   facematch_calibrate_int8 MODELS_DIR CALIBRATION_DIR OUT.json [IMAGES] [SKIP_PAIRS] [QUANTILE]
//
// IMAGES (default 400) distinct photos are taken from pairs.csv in order, after the first SKIP_PAIRS
// pairs (default 60): those are the ones the int8 gate test judges, so it judges photos the ranges
// were not measured on. A value's range is the QUANTILE (default 0.99) of its per-chip maxima: below 1
// it clips the rarest extremes to give every other chip finer steps (1 takes the largest).
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
#include "models/recognition_net.hpp"

namespace fm = facematch;

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
    auto description = fm::models::describe_recognition_net(models->weights(fm::models::kRecognitionModel));
    const std::string net_name = description.name();
    const auto net = std::make_shared<const fm::engine::CompiledNet>(std::move(description), 1);
    fm::engine::NetRunner runner(net);
    std::vector<std::vector<float>> chip_ranges;  // per chip, per value
    std::size_t without_face = 0;
    for (const auto& name : images) {
      const cv::Mat rgb = fm::read_image(root / name);
      const auto faces = verifier.detect(rgb, options);
      if (faces.empty()) {
        ++without_face;
        continue;
      }
      const auto& face = faces[fm::choose_face(faces, options.face_policy)];
      const cv::Mat chip = fm::extract_chip(rgb, face, options.align);
      cv::Mat mirrored;
      cv::flip(chip, mirrored, 1);
      for (const cv::Mat* item : {&chip, static_cast<const cv::Mat*>(&mirrored)}) {
        fm::normalize_hwc(*item, fm::kFaceNormalization, runner.input());
        runner.run();
        fm::engine::update_value_ranges(runner, chip_ranges.emplace_back());
      }
    }
    const std::size_t chips = chip_ranges.size();
    if (chips == 0) throw fm::Error(fm::ErrorCode::no_face, "no face found in any calibration image");
    if (!(quantile > 0 && quantile <= 1))
      throw fm::Error(fm::ErrorCode::invalid_argument, "QUANTILE must be in (0, 1]");
    std::vector<float> ranges(chip_ranges.front().size());
    std::vector<float> maxima(chips);
    const auto rank = static_cast<std::size_t>(std::lround(quantile * static_cast<double>(chips - 1)));
    for (std::size_t v = 0; v < ranges.size(); ++v) {
      for (std::size_t c = 0; c < chips; ++c) maxima[c] = chip_ranges[c][v];
      std::nth_element(maxima.begin(), maxima.begin() + static_cast<std::ptrdiff_t>(rank), maxima.end());
      ranges[v] = maxima[rank];
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
          {"pipeline", "recommended (cascade detector, similarity alignment, chip and mirror)"}}},
        {"nets", {{net_name, {{"values", ranges.size()}, {"ranges", ranges}}}}}};
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
