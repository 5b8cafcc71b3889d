// Measuring verification accuracy on labelled pairs (`facematch eval`).
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "facematch/verifier.hpp"

namespace facematch {

struct LabelledPair {
  std::string first, second;
  bool same = false;
};

// CSV with a header naming img1,img2,same (other columns ignored). Error{invalid_argument} names the
// line of a malformed row.
std::vector<LabelledPair> read_pairs_csv(const std::filesystem::path& path);

struct PairOutcome {
  std::optional<double> distance;  // empty when an image of the pair failed
  std::string failure;             // why, when distance is empty
};

struct EvaluationRun {
  std::vector<PairOutcome> outcomes;                         // one per pair, in input order
  std::vector<std::pair<std::string, std::string>> failed_images;  // image, error
  std::size_t images = 0;
};

// Embeds every distinct image once, in parallel on `threads` threads, then scores every pair.
// `progress(done, total)` is called from worker threads as images finish.
EvaluationRun evaluate_pairs(const Verifier& verifier, const std::vector<LabelledPair>& pairs,
                             const std::filesystem::path& root, const PipelineOptions& options, std::size_t threads,
                             const std::function<void(std::size_t, std::size_t)>& progress = {});

struct Accuracy {
  std::size_t correct = 0, scored = 0, failed = 0;  // failed pairs count as wrong in `rate`
  std::size_t false_accepts = 0, false_rejects = 0;
  double rate() const { return scored + failed ? static_cast<double>(correct) / static_cast<double>(scored + failed) : 0; }
};
Accuracy accuracy_at(const std::vector<LabelledPair>& pairs, const EvaluationRun& run, double threshold);
// The threshold with the highest accuracy (midpoint between neighbouring distances).
double best_accuracy_threshold(const std::vector<LabelledPair>& pairs, const EvaluationRun& run);

}  // namespace facematch
