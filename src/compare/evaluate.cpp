#include "facematch/evaluate.hpp"

#include <algorithm>
#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "engine/executor.hpp"
#include "facematch/error.hpp"

namespace facematch {

std::vector<LabelledPair> read_pairs_csv(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorCode::io_error, "cannot read " + path.string());
  auto split = [](const std::string& line) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) {
      if (!cell.empty() && cell.back() == '\r') cell.pop_back();
      cells.push_back(cell);
    }
    return cells;
  };
  std::string line;
  if (!std::getline(in, line)) throw Error(ErrorCode::invalid_argument, path.string() + " is empty");
  const auto header = split(line);
  auto column = [&](const std::string& name) -> std::size_t {
    const auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end())
      throw Error(ErrorCode::invalid_argument, path.string() + ": the header has no '" + name + "' column");
    return static_cast<std::size_t>(it - header.begin());
  };
  const std::size_t c1 = column("img1"), c2 = column("img2"), cs = column("same");
  std::vector<LabelledPair> pairs;
  for (std::size_t number = 2; std::getline(in, line); ++number) {
    if (line.empty() || line == "\r") continue;
    const auto cells = split(line);
    const auto bad = [&](const std::string& why) {
      return Error(ErrorCode::invalid_argument, path.string() + " line " + std::to_string(number) + ": " + why);
    };
    if (cells.size() <= std::max({c1, c2, cs})) throw bad("expected at least " + std::to_string(header.size()) + " columns");
    if (cells[c1].empty() || cells[c2].empty()) throw bad("empty image path");
    if (cells[cs] != "0" && cells[cs] != "1") throw bad("'same' must be 0 or 1, not '" + cells[cs] + "'");
    pairs.push_back({cells[c1], cells[c2], cells[cs] == "1"});
  }
  return pairs;
}

EvaluationRun evaluate_pairs(const Verifier& verifier, const std::vector<LabelledPair>& pairs,
                             const std::filesystem::path& root, const PipelineOptions& options, std::size_t threads,
                             const std::function<void(std::size_t, std::size_t)>& progress) {
  std::vector<std::string> images;
  std::map<std::string, std::size_t> index;
  for (const auto& p : pairs)
    for (const auto* img : {&p.first, &p.second})
      if (index.emplace(*img, images.size()).second) images.push_back(*img);

  std::vector<std::optional<Embedding>> embeddings(images.size());
  std::vector<std::string> errors(images.size());
  std::atomic<std::size_t> next{0}, done{0};
  const bool parallel = threads > 1;
  auto work = [&] {
    if (parallel) engine::set_threads_for_this_thread(1);  // one image per core beats one image on all cores
    for (std::size_t i; (i = next++) < images.size();) {
      try {
        embeddings[i] = verifier.analyze_file(root / images[i], options).chosen_embedding();
      } catch (const Error& e) {
        errors[i] = std::string(to_string(e.code())) + ": " + e.what();
      }
      const std::size_t finished = ++done;
      if (progress) progress(finished, images.size());
    }
  };
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < std::max<std::size_t>(threads, 1); ++t) pool.emplace_back(work);
  for (auto& t : pool) t.join();

  EvaluationRun run;
  run.images = images.size();
  for (std::size_t i = 0; i < images.size(); ++i)
    if (!embeddings[i]) run.failed_images.emplace_back(images[i], errors[i]);
  for (const auto& p : pairs) {
    const std::size_t a = index[p.first], b = index[p.second];
    PairOutcome outcome;
    if (embeddings[a] && embeddings[b]) {
      outcome.distance = euclidean_distance(*embeddings[a], *embeddings[b]);
    } else {
      outcome.failure = !embeddings[a] ? errors[a] : errors[b];
    }
    run.outcomes.push_back(std::move(outcome));
  }
  return run;
}

Accuracy accuracy_at(const std::vector<LabelledPair>& pairs, const EvaluationRun& run, double threshold) {
  Accuracy acc;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    const auto& d = run.outcomes.at(i).distance;
    if (!d) {
      ++acc.failed;
      continue;
    }
    ++acc.scored;
    const bool accepted = is_match(*d, threshold);
    if (accepted == pairs[i].same) {
      ++acc.correct;
    } else if (accepted) {
      ++acc.false_accepts;
    } else {
      ++acc.false_rejects;
    }
  }
  return acc;
}

double best_accuracy_threshold(const std::vector<LabelledPair>& pairs, const EvaluationRun& run) {
  std::vector<std::pair<double, bool>> scored;
  for (std::size_t i = 0; i < pairs.size(); ++i)
    if (run.outcomes[i].distance) scored.emplace_back(*run.outcomes[i].distance, pairs[i].same);
  if (scored.empty()) return kDefaultThreshold;
  std::sort(scored.begin(), scored.end());
  // Sweep thresholds between consecutive distances: accepted = the prefix below the threshold.
  std::size_t impostors_total = 0;
  for (const auto& s : scored) impostors_total += !s.second;
  std::size_t genuine_below = 0, impostor_below = 0, best_correct = impostors_total;
  double best = scored.front().first - 1e-6;
  for (std::size_t i = 0; i < scored.size(); ++i) {
    (scored[i].second ? genuine_below : impostor_below) += 1;
    const std::size_t correct = genuine_below + (impostors_total - impostor_below);
    if (correct > best_correct) {
      best_correct = correct;
      best = i + 1 < scored.size() ? (scored[i].first + scored[i + 1].first) / 2 : scored[i].first + 1e-6;
    }
  }
  return best;
}

}  // namespace facematch
