// `eval` and `calibrate`: accuracy of the pipeline on labelled pairs, and operating points fitted on them.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>

#include "cli/common.hpp"
#include "facematch/calibrate.hpp"
#include "facematch/embed.hpp"
#include "facematch/error.hpp"
#include "facematch/evaluate.hpp"
#include "facematch/operating_point.hpp"
#include "facematch/pipeline.hpp"
#include "report/plot.hpp"

namespace facematch::cli {
namespace {

struct EvalArgs {
  CommonOptions common;
  std::string csv;
  std::optional<std::string> root;  // default: the CSV's folder
  std::size_t threads = 0;
  double threshold = kDefaultThreshold;
  std::optional<std::string> plot, distances, identities;
  std::vector<double> fars;        // calibrate
  std::optional<std::string> out;  // calibrate
};

// One line redrawn in place on a terminal; a line per 10% when stderr is a pipe or file.
class Progress {
 public:
  Progress() : terminal_(::isatty(STDERR_FILENO)), started_(std::chrono::steady_clock::now()) {}

  void operator()(std::size_t done, std::size_t total) {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    const double seconds = std::chrono::duration<double>(now - started_).count();
    const double rate = static_cast<double>(done) / std::max(seconds, 1e-9);
    const double eta = static_cast<double>(total - done) / std::max(rate, 1e-9);
    if (terminal_) {
      if (done != total && now - last_ < std::chrono::milliseconds(100)) return;
      last_ = now;
      constexpr int kBar = 30;
      const int filled = static_cast<int>(kBar * done / std::max<std::size_t>(total, 1));
      std::fprintf(stderr, "\r[%s%s] %zu/%zu images  %.1f/s  ETA %s   ", std::string(filled, '#').c_str(),
                   std::string(kBar - filled, '.').c_str(), done, total, rate, clock(eta).c_str());
      if (done == total) std::fprintf(stderr, "\n");
    } else {
      const std::size_t tenth = std::max<std::size_t>(total / 10, 1);
      if (done % tenth == 0 || done == total)
        std::fprintf(stderr, "%zu/%zu images  %.1f/s  ETA %s\n", done, total, rate, clock(eta).c_str());
    }
  }

 private:
  static std::string clock(double seconds) {
    const long s = std::lround(seconds);
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%ld:%02ld", s / 60, s % 60);
    return buffer;
  }
  bool terminal_;
  std::chrono::steady_clock::time_point started_, last_{};
  std::mutex mutex_;
};

// The pairs, read and checked before the models load so that a bad file fails fast, then measured.
struct Measured {
  PairSet set;
  PairSetMeasurement m;
};

Measured measure(const EvalArgs& a, const PipelineOptions& options) {
  Measured out;
  out.set = read_pair_set(a.csv, a.root ? std::optional<std::filesystem::path>(*a.root) : std::nullopt,
                          a.identities ? std::optional<std::filesystem::path>(*a.identities) : std::nullopt);
  const std::size_t threads = a.threads ? a.threads : std::max(1u, std::thread::hardware_concurrency());
  Verifier verifier(load_models(a.common), threads);
  Progress progress;
  out.m = measure_pair_set(verifier, out.set, options, a.threshold, a.fars, threads, std::ref(progress));
  return out;
}

nlohmann::json accuracy_json(const Accuracy& acc, double threshold) {
  return {{"threshold", threshold},
          {"accuracy", acc.rate()},
          {"accuracy_scored", acc.scored_rate()},
          {"correct", acc.correct},
          {"false_accepts", acc.false_accepts},
          {"false_rejects", acc.false_rejects},
          {"failed_pairs", acc.failed}};
}

nlohmann::json tar_json(const TarAtFar& t) {
  nlohmann::json j = {{"target_far", t.target_far},
                      {"name", operating_point_name(t.target_far)},
                      {"supported", t.supported},
                      {"impostors", t.impostors},
                      {"genuine", t.genuine}};
  if (t.supported) {
    j["threshold"] = t.threshold;
    j["tar"] = t.tar;
    j["far"] = t.far;
    j["false_accepts"] = t.false_accepts;
    j["true_accepts"] = t.true_accepts;
  } else {
    j["needs_impostors"] = static_cast<std::size_t>(std::ceil(1 / t.target_far - 1e-9));
  }
  return j;
}

struct GroupFigures {
  std::string name;
  std::size_t pairs = 0, failed = 0;
  Accuracy at;
  std::optional<double> auc;
};

nlohmann::json optional_json(const std::optional<double>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json();
}

// "n/a" where AUC is undefined (one class missing).
std::string auc_text(const std::optional<double>& auc) {
  if (!auc) return "n/a";
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%.4f", *auc);
  return buffer;
}

std::vector<GroupFigures> group_figures(const PairSet& set, const PairSetMeasurement& m, double threshold) {
  std::vector<GroupFigures> out;
  for (const auto& g : std::set<std::string>(m.groups.begin(), m.groups.end())) {
    GroupFigures f;
    f.name = g;
    for (std::size_t i = 0; i < set.pairs.size(); ++i)
      if (m.groups[i] == g) {
        ++f.pairs;
        f.failed += !m.run.outcomes[i].distance;
      }
    const auto scored = scored_pairs(set.pairs, m.run, m.groups, g);
    f.at = accuracy_at(scored, threshold);
    f.at.failed = f.failed;
    f.auc = roc_auc(scored);
    out.push_back(f);
  }
  return out;
}

nlohmann::json report_json(const EvalArgs& a, const PipelineOptions& options, const PairSet& set,
                           const PairSetMeasurement& m) {
  nlohmann::json failed = nlohmann::json::array();
  for (const auto& [img, why] : m.run.failed_images) failed.push_back({{"image", img}, {"error", why}});
  nlohmann::json tar = nlohmann::json::array();
  for (const auto& t : m.tar) tar.push_back(tar_json(t));
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& g : group_figures(set, m, a.threshold)) {
    auto j = accuracy_json(g.at, a.threshold);
    j["group"] = g.name;
    j["pairs"] = g.pairs;
    j["auc"] = optional_json(g.auc);
    groups.push_back(std::move(j));
  }
  return {{"csv", a.csv},
          {"pairs", set.pairs.size()},
          {"genuine", m.genuine},
          {"impostors", m.impostors},
          {"images", m.run.images},
          {"model", kEmbeddingModelId},
          {"detector", to_string(options.detector.kind)},
          {"align", to_string(options.align)},
          {"pipeline", to_json(options)},
          {"fingerprint", pipeline_fingerprint(options)},
          {"failed_images", failed},
          {"failed_pairs", {{"genuine", m.failed_genuine}, {"impostor", m.failed_impostors}}},
          {"at_threshold", accuracy_json(m.at, a.threshold)},
          {"best_accuracy", accuracy_json(m.at_best, m.best)},
          {"roc_impostors", m.roc_impostors},
          {"auc", optional_json(m.auc)},
          {"eer",
           m.auc ? nlohmann::json{{"rate", m.eer.rate}, {"threshold", m.eer.threshold}} : nlohmann::json()},
          {"tar_at_far", tar},
          {"groups", groups}};
}

void print_report(const EvalArgs& a, const PipelineOptions& options, const PairSet& set,
                  const PairSetMeasurement& m) {
  const std::size_t failed = m.failed_genuine + m.failed_impostors;
  std::printf("%zu pairs (%zu genuine, %zu impostor), %zu images; %s detector, %s alignment\n",
              set.pairs.size(), m.genuine, m.impostors, m.run.images,
              std::string(to_string(options.detector.kind)).c_str(),
              std::string(to_string(options.align)).c_str());
  std::printf(
      "failed images: %zu -> %zu pairs not scored (%zu genuine, %zu impostor); accuracy counts them as "
      "wrong, "
      "the ROC figures leave them out\n",
      m.run.failed_images.size(), failed, m.failed_genuine, m.failed_impostors);
  const auto line = [&](const char* what, double threshold, const Accuracy& acc) {
    std::printf(
        "%s %.4f: accuracy %.2f%% of all pairs, %.2f%% of %zu scored (%zu false accepts, %zu false "
        "rejects)\n",
        what, threshold, 100 * acc.rate(), 100 * acc.scored_rate(), acc.scored, acc.false_accepts,
        acc.false_rejects);
  };
  line("threshold", a.threshold, m.at);
  line("best-accuracy threshold", m.best, m.at_best);
  std::size_t roc_genuine = 0;
  for (const auto& p : m.roc) roc_genuine += p.same;
  std::printf("ROC over %zu scored genuine pairs and %zu impostor pairs (%s):\n", roc_genuine,
              m.roc.size() - roc_genuine, m.roc_impostors.c_str());
  if (m.auc) {
    std::printf("ROC AUC %.4f, EER %.2f%% at threshold %.4f\n", *m.auc, 100 * m.eer.rate, m.eer.threshold);
  } else {
    std::printf("ROC AUC n/a, EER n/a (they need both genuine and impostor pairs)\n");
  }
  const auto at = accuracy_at(m.roc, a.threshold);
  std::printf("threshold %.4f: FAR %.3g (%zu of %zu impostors accepted), TAR %.2f%%\n", a.threshold,
              static_cast<double>(at.false_accepts) /
                  static_cast<double>(std::max<std::size_t>(m.roc.size() - roc_genuine, 1)),
              at.false_accepts, m.roc.size() - roc_genuine,
              100 * static_cast<double>(roc_genuine - at.false_rejects) /
                  static_cast<double>(std::max<std::size_t>(roc_genuine, 1)));
  std::printf("TAR at FAR (scored pairs; k = floor(FAR x impostors) accepts allowed, n/a when k < 1):\n");
  for (const auto& t : m.tar) {
    if (t.supported) {
      std::printf(
          "  FAR %-7s TAR %6.2f%%  threshold %.4f  (%zu of %zu impostors accepted, %zu of %zu genuine)\n",
          operating_point_name(t.target_far).substr(3).c_str(), 100 * t.tar, t.threshold, t.false_accepts,
          t.impostors, t.true_accepts, t.genuine);
    } else {
      std::printf("  FAR %-7s n/a (%zu impostor pairs scored, needs at least %.0f)\n",
                  operating_point_name(t.target_far).substr(3).c_str(), t.impostors,
                  std::ceil(1 / t.target_far - 1e-9));
    }
  }
  const auto groups = group_figures(set, m, a.threshold);
  if (!groups.empty()) std::printf("per group at threshold %.4f:\n", a.threshold);
  for (const auto& g : groups)
    std::printf("  %-20s %6zu pairs  accuracy %6.2f%%  (%zu FA, %zu FR, %zu failed)  AUC %s\n",
                g.name.c_str(), g.pairs, 100 * g.at.rate(), g.at.false_accepts, g.at.false_rejects, g.failed,
                auc_text(g.auc).c_str());
  for (const auto& [img, why] : m.run.failed_images)
    std::printf("  failed: %s: %s\n", img.c_str(), why.c_str());
}

void write_distances(const std::string& path, const PairSet& set, const PairSetMeasurement& m) {
  std::ofstream out(path);
  out << "img1,img2,same,distance,error\n";
  char buffer[32];
  for (std::size_t i = 0; i < set.pairs.size(); ++i) {
    const auto& o = m.run.outcomes[i];
    if (o.distance) std::snprintf(buffer, sizeof buffer, "%.7f", *o.distance);
    std::string error = o.failure;
    std::replace(error.begin(), error.end(), ',', ';');
    out << set.pairs[i].first << ',' << set.pairs[i].second << ',' << (set.pairs[i].same ? 1 : 0) << ','
        << (o.distance ? buffer : "") << ',' << error << '\n';
  }
  if (!out) throw Error(ErrorCode::io_error, "cannot write " + path);
}

void write_outputs(const EvalArgs& a, const PipelineOptions& options, const PairSet& set,
                   const PairSetMeasurement& m, std::vector<report::PlotMark> marks) {
  if (a.distances) write_distances(*a.distances, set, m);
  if (!a.plot) return;
  char label[64];
  std::snprintf(label, sizeof label, "threshold %.3f", a.threshold);
  marks.insert(marks.begin(), {label, a.threshold});
  std::snprintf(label, sizeof label, "best accuracy %.3f", m.best);
  marks.insert(marks.begin() + 1, {label, m.best});
  report::write_evaluation_plot(*a.plot, m.roc, marks,
                                a.csv + " (" + std::string(to_string(options.detector.kind)) + ", " +
                                    std::string(to_string(options.align)) + " alignment)");
}

int run_eval(const EvalArgs& a) {
  const auto options = a.common.pipeline();
  check_threshold(a.threshold, "--threshold");
  const auto x = measure(a, options);
  if (a.common.json) {
    std::cout << report_json(a, options, x.set, x.m).dump(2) << '\n';
  } else {
    print_report(a, options, x.set, x.m);
  }
  write_outputs(a, options, x.set, x.m, {});
  return 0;
}

int run_calibrate(const EvalArgs& a) {
  const auto options = a.common.pipeline();
  if (a.fars.empty()) throw Error(ErrorCode::invalid_argument, "calibrate needs at least one --far");
  const auto x = measure(a, options);
  const auto points = fit_operating_points(x.set, x.m, options, a.fars);
  const std::string out = a.out.value_or("operating-points.json");
  save_operating_points(points, out);

  if (a.common.json) {
    auto j = report_json(a, options, x.set, x.m);
    j["operating_points"] = to_json(points);
    j["written"] = out;
    std::cout << j.dump(2) << '\n';
  } else {
    print_report(a, options, x.set, x.m);
    std::printf("wrote %s:", out.c_str());
    for (const auto& p : points.points) std::printf(" %s=%.4f", p.name.c_str(), p.threshold);
    std::printf(" (default %s)\n", points.default_point.c_str());
  }
  std::vector<report::PlotMark> marks;
  for (const auto& p : points.points)
    if (p.target_far) marks.push_back({p.name + " " + std::to_string(p.threshold).substr(0, 5), p.threshold});
  write_outputs(a, options, x.set, x.m, marks);
  return 0;
}

void add_pair_options(CLI::App& cmd, EvalArgs& args) {
  cmd.add_option("pairs", args.csv, "CSV file of pairs: img1,img2,same[,group]")->required();
  cmd.add_option("--root", args.root, "Folder the CSV's paths are relative to (default: the CSV's folder)");
  cmd.add_option("--threads", args.threads, "Images embedded in parallel (0 = cores)");
  cmd.add_option("--threshold", args.threshold, "Threshold to report accuracy at")->capture_default_str();
  cmd.add_option("--plot", args.plot, "Write the ROC curve and distance histograms to this PNG file");
  cmd.add_option("--distances", args.distances, "Write every pair's distance (or error) to this CSV file");
  cmd.add_option("--identities", args.identities,
                 "CSV img,identity: measure ROC, EER and TAR at FAR against every cross-identity pair of the "
                 "embedded images instead of the pairs file's impostor pairs (supports low FARs)");
  add_common(cmd, args.common, true);
}

}  // namespace

void add_eval_commands(CLI::App& app, CommandTable& commands) {
  auto eval_args = std::make_shared<EvalArgs>();
  auto* eval = app.add_subcommand("eval", "Measure accuracy, ROC AUC, EER and TAR at FAR on labelled pairs");
  add_pair_options(*eval, *eval_args);
  commands.push_back({eval, [eval_args] {
                        return with_json_errors(eval_args->common.json, [&] { return run_eval(*eval_args); });
                      }});

  auto calibrate_args = std::make_shared<EvalArgs>();
  auto* calibrate = app.add_subcommand(
      "calibrate", "Fit thresholds for target false-accept rates on labelled pairs and write them to a file");
  add_pair_options(*calibrate, *calibrate_args);
  calibrate->add_option("--far", calibrate_args->fars, "Target false-accept rate (repeat for several)")
      ->required();
  calibrate->add_option("--out", calibrate_args->out, "Operating-point file to write")
      ->default_str("operating-points.json");
  commands.push_back({calibrate, [calibrate_args] {
                        return with_json_errors(calibrate_args->common.json,
                                                [&] { return run_calibrate(*calibrate_args); });
                      }});
}

}  // namespace facematch::cli
