// `eval`: accuracy of the pipeline on labelled pairs.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "cli/common.hpp"
#include "facematch/evaluate.hpp"

namespace facematch::cli {
namespace {

int run_eval(const CommonOptions& o, const std::string& csv, const std::string& root, std::size_t threads,
             double threshold) {
  const auto options = o.pipeline();
  const auto pairs = read_pairs_csv(csv);
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  Verifier verifier(load_models(o), threads);
  const bool terminal = ::isatty(STDERR_FILENO);
  const auto started = std::chrono::steady_clock::now();
  const auto run =
      evaluate_pairs(verifier, pairs, root, options, threads, [&](std::size_t done, std::size_t total) {
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        const double rate = done / std::max(seconds, 1e-9);
        if (terminal) {
          std::fprintf(stderr, "\r%zu/%zu images  %.1f/s  ETA %.0f s   ", done, total, rate,
                       (total - done) / rate);
        } else if (done == total || done % 500 == 0) {
          std::fprintf(stderr, "%zu/%zu images\n", done, total);
        }
      });
  if (terminal) std::fprintf(stderr, "\n");
  const auto at = accuracy_at(pairs, run, threshold);
  const double best = best_accuracy_threshold(pairs, run);
  const auto at_best = accuracy_at(pairs, run, best);
  if (o.json) {
    nlohmann::json failed = nlohmann::json::array();
    for (const auto& [img, why] : run.failed_images) failed.push_back({{"image", img}, {"error", why}});
    std::cout << nlohmann::json{{"pairs", pairs.size()},
                                {"images", run.images},
                                {"threshold", threshold},
                                {"accuracy", at.rate()},
                                {"false_accepts", at.false_accepts},
                                {"false_rejects", at.false_rejects},
                                {"failed_pairs", at.failed},
                                {"best_threshold", best},
                                {"best_accuracy", at_best.rate()},
                                {"align", to_string(options.align)},
                                {"detector", to_string(options.detector.kind)},
                                {"failed_images", failed}}
                     .dump(2)
              << '\n';
  } else {
    std::printf("%zu pairs, %zu images (%zu failed; their pairs count as wrong)\n", pairs.size(), run.images,
                run.failed_images.size());
    std::printf("threshold %.3f: accuracy %.2f%% (%zu false accepts, %zu false rejects, %zu failed pairs)\n",
                threshold, 100 * at.rate(), at.false_accepts, at.false_rejects, at.failed);
    std::printf("best-accuracy threshold %.3f: accuracy %.2f%%\n", best, 100 * at_best.rate());
    for (const auto& [img, why] : run.failed_images)
      std::printf("  failed: %s: %s\n", img.c_str(), why.c_str());
  }
  return 0;
}

}  // namespace

void add_eval_commands(CLI::App& app, CommandTable& commands) {
  struct EvalArgs {
    CommonOptions common;
    std::string csv, root = ".";
    std::size_t threads = 0;
    double threshold = kDefaultThreshold;
  };
  auto args = std::make_shared<EvalArgs>();
  auto* eval = app.add_subcommand("eval", "Measure accuracy on labelled pairs (CSV: img1,img2,same)");
  eval->add_option("pairs", args->csv, "CSV file of pairs")->required();
  eval->add_option("--root", args->root, "Folder the CSV's paths are relative to")->capture_default_str();
  eval->add_option("--threads", args->threads, "Images embedded in parallel (0 = cores)");
  eval->add_option("--threshold", args->threshold, "Threshold to report accuracy at")->capture_default_str();
  add_common(*eval, args->common, true);
  commands.push_back({eval, [args] {
                        return run_eval(args->common, args->csv, args->root, args->threads, args->threshold);
                      }});
}

}  // namespace facematch::cli
