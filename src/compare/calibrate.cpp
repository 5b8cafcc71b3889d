#include "facematch/calibrate.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <set>
#include <thread>

#include "facematch/embed.hpp"
#include "facematch/error.hpp"
#include "facematch/pipeline.hpp"

namespace facematch {
namespace {

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

nlohmann::json optional_json(const std::optional<double>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json();
}

void check_images_exist(const PairSet& set, bool root_given) {
  std::set<std::string> missing;
  for (const auto& p : set.pairs)
    for (const auto* img : {&p.first, &p.second})
      if (!std::filesystem::exists(set.root / *img)) missing.insert(*img);
  if (missing.empty()) return;
  std::string list;
  int shown = 0;
  for (const auto& img : missing) {
    if (shown++ == 3) break;
    if (!list.empty()) list += ", ";
    list += (set.root / img).string();
  }
  std::string message =
      std::to_string(missing.size()) + " image(s) of " + set.csv.string() + " are missing: " + list;
  if (missing.size() > 3) message += ", ...";
  message += root_given ? " (paths are relative to --root)"
                        : " (paths are relative to the CSV's folder; --root sets another)";
  throw Error(ErrorCode::io_error, message);
}

}  // namespace

PairSet read_pair_set(const std::filesystem::path& csv, const std::optional<std::filesystem::path>& root,
                      const std::optional<std::filesystem::path>& identities) {
  PairSet set;
  set.csv = csv;
  set.root = root ? *root : csv.parent_path();
  set.identities = identities;
  set.pairs = read_pairs_csv(csv);
  if (set.pairs.empty()) throw Error(ErrorCode::invalid_argument, csv.string() + " has no pairs");
  check_images_exist(set, root.has_value());
  if (identities) set.identity_of = read_identities_csv(*identities);
  return set;
}

PairSetMeasurement measure_pair_set(const Verifier& verifier, const PairSet& set,
                                    const PipelineOptions& options, double threshold,
                                    std::span<const double> target_fars, std::size_t threads,
                                    const std::function<void(std::size_t, std::size_t)>& progress) {
  for (const double far : target_fars)
    if (!(far > 0 && far < 1)) throw Error(ErrorCode::invalid_argument, "--far must be between 0 and 1");
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  PairSetMeasurement m;
  m.threshold = threshold;
  m.run = evaluate_pairs(verifier, set.pairs, set.root, options, threads, progress);
  for (std::size_t i = 0; i < set.pairs.size(); ++i) {
    ++(set.pairs[i].same ? m.genuine : m.impostors);
    if (!m.run.outcomes[i].distance) ++(set.pairs[i].same ? m.failed_genuine : m.failed_impostors);
  }
  m.scored = scored_pairs(set.pairs, m.run);
  const std::size_t failed = m.failed_genuine + m.failed_impostors;
  m.at = accuracy_at(m.scored, threshold);
  m.at.failed = failed;
  m.best = best_accuracy_threshold(m.scored);
  m.at_best = accuracy_at(m.scored, m.best);
  m.at_best.failed = failed;
  m.roc = m.scored;
  m.roc_impostors = "the pairs file";
  if (set.identities) {
    std::erase_if(m.roc, [](const ScoredPair& p) { return !p.same; });
    const auto impostors = cross_identity_impostors(m.run, set.identity_of);
    m.roc.insert(m.roc.end(), impostors.begin(), impostors.end());
    m.roc_impostors = "every cross-identity pair of " + set.identities->string();
  }
  m.auc = roc_auc(m.roc);
  m.eer = equal_error_rate(m.roc);
  std::vector<double> fars(target_fars.begin(), target_fars.end());
  fars.insert(fars.end(), std::begin(kReportedFars), std::end(kReportedFars));
  std::sort(fars.begin(), fars.end(), std::greater<>());
  fars.erase(std::unique(fars.begin(), fars.end()), fars.end());
  for (const double far : fars) m.tar.push_back(tar_at_far(m.roc, far));
  m.groups = pair_groups(set.pairs);
  return m;
}

OperatingPoints fit_operating_points(const PairSet& set, const PairSetMeasurement& m,
                                     const PipelineOptions& options, std::span<const double> fars) {
  if (fars.empty()) throw Error(ErrorCode::invalid_argument, "calibrate needs at least one --far");
  OperatingPoints points;
  points.model = kEmbeddingModelId;
  points.detector = to_string(options.detector.kind);
  points.align = to_string(options.align);
  points.pipeline = to_json(options);
  points.fingerprint = pipeline_fingerprint(options);
  for (const double far : fars) {
    const auto t =
        std::find_if(m.tar.begin(), m.tar.end(), [&](const auto& x) { return x.target_far == far; });
    if (t == m.tar.end())
      throw Error(ErrorCode::internal, "FAR " + std::to_string(far) + " was not measured");
    const auto name = operating_point_name(far);
    if (!t->supported)
      throw Error(ErrorCode::invalid_argument,
                  "--far " + name.substr(3) + " needs at least " +
                      std::to_string(static_cast<long>(std::ceil(1 / far - 1e-9))) +
                      " scored impostor pairs; there are " + std::to_string(t->impostors) +
                      (set.identities ? "" : " (--identities scores every cross-identity pair)"));
    points.points.push_back({name, t->threshold, far, t->tar, t->far, t->true_accepts, t->genuine,
                             t->false_accepts, t->impostors});
  }
  const auto best = accuracy_at(m.scored, m.best);
  std::size_t genuine = 0;
  for (const auto& p : m.scored) genuine += p.same;
  const std::size_t impostors = m.scored.size() - genuine;
  points.points.push_back(
      {"best-accuracy", m.best, std::nullopt,
       genuine ? static_cast<double>(genuine - best.false_rejects) / static_cast<double>(genuine) : 0,
       impostors ? static_cast<double>(best.false_accepts) / static_cast<double>(impostors) : 0,
       genuine - best.false_rejects, genuine, best.false_accepts, impostors});
  points.default_point = points.points.front().name;
  const auto identities = set.identities;
  points.provenance = {
      {"csv", set.csv.string()},
      {"csv_sha256", file_sha256_hex(set.csv)},
      {"root", set.root.string()},
      {"pairs", set.pairs.size()},
      {"genuine", m.genuine},
      {"impostors", m.impostors},
      {"images", m.run.images},
      {"failed_images", m.run.failed_images.size()},
      {"failed_pairs", {{"genuine", m.failed_genuine}, {"impostor", m.failed_impostors}}},
      {"identities", identities ? nlohmann::json(identities->string()) : nlohmann::json()},
      {"identities_sha256", identities ? nlohmann::json(file_sha256_hex(*identities)) : nlohmann::json()},
      {"roc_impostors", m.roc_impostors},
      {"auc", optional_json(m.auc)},
      {"eer", m.auc ? nlohmann::json(m.eer.rate) : nlohmann::json()},
      // The pipeline itself is the file's "pipeline"; "auto" precision is what this CPU ran.
      {"nets_precision", to_string(resolve_precision(options.precision))},
      {"tool", "facematch calibrate"},
      {"created", utc_now()}};
  return points;
}

}  // namespace facematch
