// Measuring verification accuracy on labelled pairs (`facematch eval`, `facematch calibrate`).
//
// The metrics are pure functions over (distance, same) pairs so they can be checked on hand-made data.
// Everywhere a pair is accepted when distance < threshold (is_match), as in `verify`.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "facematch/verifier.hpp"

namespace facematch {

struct LabelledPair {
  std::string first, second;
  bool same = false;
  std::string group;  // the CSV's `group` column, else empty
};

// CSV with a header naming img1,img2,same and optionally group (other columns ignored; no quoting).
// Error{invalid_argument} names the line of a malformed row.
std::vector<LabelledPair> read_pairs_csv(const std::filesystem::path& path);

// The group of each pair for a per-group breakdown: the `group` column when the CSV has one, else the
// top folder the two paths share ("(across folders)" when they differ). Empty when there are fewer
// than two groups, i.e. when a breakdown would say nothing new.
std::vector<std::string> pair_groups(const std::vector<LabelledPair>& pairs);

struct PairOutcome {
  std::optional<double> distance;  // empty when an image of the pair failed
  std::string failure;             // why, when distance is empty
};

struct EvaluationRun {
  std::vector<PairOutcome> outcomes;                               // one per pair, in input order
  std::vector<std::pair<std::string, std::string>> failed_images;  // image, error
  std::size_t images = 0;
  std::map<std::string, Embedding> embeddings;  // image -> descriptor, for the images that gave one
};

// Embeds every distinct image once, in parallel on `threads` threads, then scores every pair.
// `progress(done, total)` is called from worker threads as images finish.
EvaluationRun evaluate_pairs(const Verifier& verifier, const std::vector<LabelledPair>& pairs,
                             const std::filesystem::path& root, const PipelineOptions& options,
                             std::size_t threads,
                             const std::function<void(std::size_t, std::size_t)>& progress = {});

struct ScoredPair {
  double distance = 0;
  bool same = false;
};

// CSV with a header naming img and identity (../shared/calibration/identities.csv); rows with an empty
// identity (unknown person) are skipped. A photo of several people lists them all, separated by '|'
// (`obama|biden`, as ../shared/faces does). Error{invalid_argument} names the line of a malformed row.
std::map<std::string, std::string> read_identities_csv(const std::filesystem::path& path);

// Every pair of images of `run` that gave a descriptor and whose identities share no person, as impostor
// pairs: far more impostors than a pairs file lists, so that low FARs rest on enough false accepts.
// Images without an identity are left out, and so are pairs whose identity sets overlap without being
// one single person each (`obama|biden` with `obama`): the face compared may be either person's, so the
// pair is neither surely genuine nor surely an impostor. A multi-person row must name everyone in the
// photo whom the face choice could pick; an unnamed person there could make a listed impostor genuine.
std::vector<ScoredPair> cross_identity_impostors(const EvaluationRun& run,
                                                 const std::map<std::string, std::string>& identities);
// The pairs of `run` whose two images gave a descriptor, in input order; `only_group` keeps the pairs
// whose groups[i] equals it.
std::vector<ScoredPair> scored_pairs(const std::vector<LabelledPair>& pairs, const EvaluationRun& run,
                                     const std::vector<std::string>& groups = {},
                                     const std::optional<std::string>& only_group = std::nullopt);

struct Accuracy {
  std::size_t correct = 0, scored = 0, failed = 0;  // failed pairs count as wrong in `rate`
  std::size_t false_accepts = 0, false_rejects = 0;
  double rate() const {
    return scored + failed ? static_cast<double>(correct) / static_cast<double>(scored + failed) : 0;
  }
  double scored_rate() const {
    return scored ? static_cast<double>(correct) / static_cast<double>(scored) : 0;
  }
};
// Over scored pairs; add the failed pair count to `failed` to count them as wrong.
Accuracy accuracy_at(std::span<const ScoredPair> pairs, double threshold);

// The threshold with the highest accuracy: the midpoint between the two neighbouring distances where the
// sweep peaks (the lowest such threshold on ties). kDefaultThreshold when there are no pairs.
double best_accuracy_threshold(std::span<const ScoredPair> pairs);

// One point per distinct distance: thresholds just above each distance, from accepting nothing to
// accepting everything. far/tar are fractions of the impostor/genuine pairs with distance < threshold.
struct RocPoint {
  double threshold = 0, far = 0, tar = 0;
};
std::vector<RocPoint> roc_curve(std::span<const ScoredPair> pairs);

// Area under the ROC curve = P(genuine distance < impostor distance), ties counting half. Empty when
// either class is empty (undefined then; 0 would read as the worst possible ranking).
std::optional<double> roc_auc(std::span<const ScoredPair> pairs);

// The threshold where FAR and FRR cross. `rate` is (FAR + FRR) / 2 at the threshold among those between
// distinct distances that minimizes |FAR - FRR|.
struct EqualErrorRate {
  double rate = 0, threshold = 0;
};
EqualErrorRate equal_error_rate(std::span<const ScoredPair> pairs);

// TAR at a target FAR. With N impostor pairs, k = floor(target_far * N) false accepts are allowed and the
// threshold is the (k+1)-th smallest impostor distance, so at most k impostors fall below it (fewer on
// ties). The point is `supported` only when k >= 1, i.e. N >= 1/target_far: with k = 0 the data only shows
// that FAR is below 1/N, not that it is near the target.
struct TarAtFar {
  double target_far = 0;
  bool supported = false;
  double threshold = 0;  // meaningful only when supported
  double tar = 0, far = 0;
  std::size_t impostors = 0, genuine = 0, false_accepts = 0, true_accepts = 0;
};
TarAtFar tar_at_far(std::span<const ScoredPair> pairs, double target_far);

}  // namespace facematch
