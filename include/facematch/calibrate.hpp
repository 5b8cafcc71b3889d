// A labelled pair file measured under one pipeline (`facematch eval`), and operating points fitted on
// it (`facematch calibrate`). The CLI only parses arguments and prints what these return.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "facematch/evaluate.hpp"
#include "facematch/operating_point.hpp"

namespace facematch {

// FARs every measurement states; calibration adds its own targets.
inline constexpr double kReportedFars[] = {1e-2, 1e-3, 1e-4};

// The pairs and what they are measured against, read and checked before any image is embedded.
struct PairSet {
  std::filesystem::path csv;
  std::filesystem::path root;                       // the CSV's paths are relative to it
  std::optional<std::filesystem::path> identities;  // CSV img,identity: impostors of every identity pair
  std::vector<LabelledPair> pairs;
  std::map<std::string, std::string> identity_of;  // read from `identities`
};

// Reads `csv` (and `identities`); Error{invalid_argument} when it has no pairs, Error{io_error} naming the
// first missing images (a wrong root used to make every image fail and the report a row of zeros).
// `root` empty: the CSV's folder.
PairSet read_pair_set(const std::filesystem::path& csv, const std::optional<std::filesystem::path>& root,
                      const std::optional<std::filesystem::path>& identities);

// What one run measured. Accuracy is counted over every pair (failed ones count as wrong); ROC, AUC,
// EER and TAR at FAR over the scored pairs, with every cross-identity pair as impostors when the set
// has identities.
struct PairSetMeasurement {
  EvaluationRun run;
  std::vector<ScoredPair> scored;  // the CSV's pairs that were scored
  std::vector<ScoredPair> roc;     // what ROC, AUC, EER and TAR at FAR are measured on
  std::string roc_impostors;       // where roc's impostor pairs come from
  std::size_t genuine = 0, impostors = 0, failed_genuine = 0, failed_impostors = 0;
  double threshold = kDefaultThreshold;
  Accuracy at, at_best;
  double best = 0;
  std::optional<double> auc;  // empty without genuine or without impostor pairs
  EqualErrorRate eer;
  std::vector<TarAtFar> tar;  // at `fars` and kReportedFars, highest FAR first
  std::vector<std::string> groups;
};

// Embeds every image of `set` under `options` on `threads` threads (0 = cores) and measures it;
// accuracy is stated at `threshold`, TAR at `fars` (each in (0, 1)) and kReportedFars.
PairSetMeasurement measure_pair_set(const Verifier& verifier, const PairSet& set,
                                    const PipelineOptions& options, double threshold,
                                    std::span<const double> fars, std::size_t threads = 0,
                                    const std::function<void(std::size_t, std::size_t)>& progress = {});

// One operating point per target FAR (the first is the default) and best-accuracy, with the pipeline
// (to_json) and its fingerprint, the data's checksums and the figures as provenance.
// Error{invalid_argument} when a target needs more scored impostor pairs than there are.
OperatingPoints fit_operating_points(const PairSet& set, const PairSetMeasurement& measured,
                                     const PipelineOptions& options, std::span<const double> fars);

}  // namespace facematch
