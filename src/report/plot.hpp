// The picture of an evaluation: ROC curve and genuine/impostor distance histograms with thresholds marked.
#pragma once

#include <filesystem>
#include <opencv2/core.hpp>
#include <span>
#include <string>
#include <vector>

#include "facematch/evaluate.hpp"

namespace facematch::report {

struct PlotMark {
  std::string label;  // e.g. "0.60" or "far1e-3 0.47"
  double threshold = 0;
};

// 1200x520 BGR image: left the ROC curve on a log FAR axis with each mark's (FAR, TAR) point, right the
// histograms of genuine (green) and impostor (red) distances with each mark as a vertical line.
cv::Mat draw_evaluation_plot(std::span<const ScoredPair> pairs, const std::vector<PlotMark>& marks,
                             const std::string& title);
// Writes draw_evaluation_plot in the format of the file's extension (.png). Error{io_error} on failure.
void write_evaluation_plot(const std::filesystem::path& path, std::span<const ScoredPair> pairs,
                           const std::vector<PlotMark>& marks, const std::string& title);

}  // namespace facematch::report
