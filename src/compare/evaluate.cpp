#include "facematch/evaluate.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "engine/executor.hpp"
#include "facematch/error.hpp"

namespace facematch {

namespace {

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream ss(line);
  for (std::string cell; std::getline(ss, cell, ',');) {
    if (!cell.empty() && cell.back() == '\r') cell.pop_back();
    cells.push_back(cell);
  }
  if (!line.empty() && (line.back() == ',' || line.ends_with(",\r")))
    cells.emplace_back();  // getline drops it
  return cells;
}

// Reads a headed CSV: `row(cells, error)` is called for each non-empty line with the cells of the
// named columns (then any optional ones, empty when absent); `error(why)` makes an Error naming the line.
void read_csv(const std::filesystem::path& path, const std::vector<std::string>& required,
              const std::vector<std::string>& optional_columns,
              const std::function<void(const std::vector<std::string>&,
                                       const std::function<Error(const std::string&)>&)>& row) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorCode::io_error, "cannot read " + path.string());
  std::string line;
  if (!std::getline(in, line)) throw Error(ErrorCode::invalid_argument, path.string() + " is empty");
  const auto header = split_csv_line(line);
  std::vector<std::size_t> columns;
  std::size_t needed = 0;
  for (const auto& name : required) {
    const auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end())
      throw Error(ErrorCode::invalid_argument, path.string() + ": the header has no '" + name + "' column");
    columns.push_back(static_cast<std::size_t>(it - header.begin()));
    needed = std::max(needed, columns.back() + 1);
  }
  for (const auto& name : optional_columns) {
    const auto it = std::find(header.begin(), header.end(), name);
    columns.push_back(static_cast<std::size_t>(it - header.begin()));  // header.size() when absent
    if (it != header.end()) needed = std::max(needed, columns.back() + 1);
  }
  for (std::size_t number = 2; std::getline(in, line); ++number) {
    if (line.empty() || line == "\r") continue;
    const auto cells = split_csv_line(line);
    const auto bad = [&](const std::string& why) {
      return Error(ErrorCode::invalid_argument,
                   path.string() + " line " + std::to_string(number) + ": " + why);
    };
    if (cells.size() < needed)
      throw bad("expected " + std::to_string(header.size()) + " columns, found " +
                std::to_string(cells.size()));
    std::vector<std::string> picked;
    for (const std::size_t c : columns) picked.push_back(c < cells.size() ? cells[c] : std::string());
    row(picked, bad);
  }
}

}  // namespace

std::vector<LabelledPair> read_pairs_csv(const std::filesystem::path& path) {
  std::vector<LabelledPair> pairs;
  read_csv(path, {"img1", "img2", "same"}, {"group"}, [&](const auto& cells, const auto& bad) {
    if (cells[0].empty() || cells[1].empty()) throw bad("empty image path");
    if (cells[2] != "0" && cells[2] != "1") throw bad("'same' must be 0 or 1, not '" + cells[2] + "'");
    pairs.push_back({cells[0], cells[1], cells[2] == "1", cells[3]});
  });
  return pairs;
}

std::map<std::string, std::string> read_identities_csv(const std::filesystem::path& path) {
  std::map<std::string, std::string> identities;
  read_csv(path, {"img", "identity"}, {}, [&](const auto& cells, const auto& bad) {
    if (cells[0].empty()) throw bad("empty image path");
    if (cells[1].empty()) return;  // unknown person: not an impostor of anyone for certain
    if (!identities.emplace(cells[0], cells[1]).second) throw bad(cells[0] + " is listed twice");
  });
  return identities;
}

EvaluationRun evaluate_pairs(const Verifier& verifier, const std::vector<LabelledPair>& pairs,
                             const std::filesystem::path& root, const PipelineOptions& options,
                             std::size_t threads,
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
  for (std::size_t i = 0; i < images.size(); ++i) {
    if (embeddings[i]) {
      run.embeddings.emplace(images[i], *embeddings[i]);
    } else {
      run.failed_images.emplace_back(images[i], errors[i]);
    }
  }
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

std::vector<std::string> pair_groups(const std::vector<LabelledPair>& pairs) {
  const bool has_column =
      std::any_of(pairs.begin(), pairs.end(), [](const auto& p) { return !p.group.empty(); });
  auto top_folder = [](const std::string& path) {
    const auto slash = path.find('/');
    return slash == std::string::npos ? std::string() : path.substr(0, slash);
  };
  std::vector<std::string> groups;
  for (const auto& p : pairs) {
    if (has_column) {
      groups.push_back(p.group);
    } else {
      const auto a = top_folder(p.first), b = top_folder(p.second);
      groups.push_back(a == b ? a : "(across folders)");
    }
  }
  if (std::set<std::string>(groups.begin(), groups.end()).size() < 2) groups.clear();
  return groups;
}

std::vector<ScoredPair> scored_pairs(const std::vector<LabelledPair>& pairs, const EvaluationRun& run,
                                     const std::vector<std::string>& groups,
                                     const std::optional<std::string>& only_group) {
  std::vector<ScoredPair> scored;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    if (only_group && (i >= groups.size() || groups[i] != *only_group)) continue;
    if (const auto& d = run.outcomes.at(i).distance) scored.push_back({*d, pairs[i].same});
  }
  return scored;
}

namespace {

std::vector<std::string> people(const std::string& identity) {
  std::vector<std::string> out;
  std::stringstream ss(identity);
  for (std::string person; std::getline(ss, person, '|');)
    if (!person.empty()) out.push_back(person);
  std::sort(out.begin(), out.end());
  return out;
}

bool share_a_person(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  return std::any_of(a.begin(), a.end(),
                     [&](const std::string& p) { return std::binary_search(b.begin(), b.end(), p); });
}

}  // namespace

std::vector<ScoredPair> cross_identity_impostors(const EvaluationRun& run,
                                                 const std::map<std::string, std::string>& identities) {
  std::vector<std::pair<std::vector<std::string>, const Embedding*>> labelled;
  for (const auto& [image, embedding] : run.embeddings)
    if (const auto it = identities.find(image); it != identities.end())
      labelled.emplace_back(people(it->second), &embedding);
  std::vector<ScoredPair> impostors;
  for (std::size_t i = 0; i < labelled.size(); ++i)
    for (std::size_t j = i + 1; j < labelled.size(); ++j)
      if (!share_a_person(labelled[i].first, labelled[j].first))
        impostors.push_back({euclidean_distance(*labelled[i].second, *labelled[j].second), false});
  return impostors;
}

Accuracy accuracy_at(std::span<const ScoredPair> pairs, double threshold) {
  Accuracy acc;
  for (const auto& p : pairs) {
    ++acc.scored;
    const bool accepted = is_match(p.distance, threshold);
    if (accepted == p.same) {
      ++acc.correct;
    } else if (accepted) {
      ++acc.false_accepts;
    } else {
      ++acc.false_rejects;
    }
  }
  return acc;
}

namespace {

// Accepted counts at each threshold of the ROC sweep (see RocPoint).
struct SweepStep {
  double threshold = 0;
  std::size_t false_accepts = 0, true_accepts = 0;
};
struct Sweep {
  std::vector<SweepStep> steps;
  std::size_t genuine = 0, impostors = 0;
};

Sweep sweep(std::span<const ScoredPair> pairs) {
  std::vector<ScoredPair> sorted(pairs.begin(), pairs.end());
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.distance < b.distance; });
  Sweep s;
  for (const auto& p : sorted) ++(p.same ? s.genuine : s.impostors);
  if (sorted.empty()) return s;
  s.steps.push_back({sorted.front().distance, 0, 0});
  std::size_t fa = 0, ta = 0;
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    ++(sorted[i].same ? ta : fa);
    const bool last = i + 1 == sorted.size();
    if (!last && sorted[i + 1].distance == sorted[i].distance) continue;  // ties move together
    // Midway to the next distance so that small numeric changes do not flip the pairs on either side.
    const double threshold =
        last ? sorted[i].distance + 1e-6 : (sorted[i].distance + sorted[i + 1].distance) / 2;
    s.steps.push_back({threshold, fa, ta});
  }
  return s;
}

double fraction(std::size_t part, std::size_t whole) {
  return whole ? static_cast<double>(part) / static_cast<double>(whole) : 0;
}

}  // namespace

double best_accuracy_threshold(std::span<const ScoredPair> pairs) {
  const auto s = sweep(pairs);
  if (s.steps.empty()) return kDefaultThreshold;
  double best = s.steps.front().threshold;
  std::size_t best_correct = 0;
  for (const auto& step : s.steps) {
    const std::size_t correct = step.true_accepts + (s.impostors - step.false_accepts);
    if (correct > best_correct) {
      best_correct = correct;
      best = step.threshold;
    }
  }
  return best;
}

std::vector<RocPoint> roc_curve(std::span<const ScoredPair> pairs) {
  const auto s = sweep(pairs);
  std::vector<RocPoint> roc;
  for (const auto& step : s.steps)
    roc.push_back(
        {step.threshold, fraction(step.false_accepts, s.impostors), fraction(step.true_accepts, s.genuine)});
  return roc;
}

std::optional<double> roc_auc(std::span<const ScoredPair> pairs) {
  const auto s = sweep(pairs);
  if (s.genuine == 0 || s.impostors == 0) return std::nullopt;
  // Each step adds a tie group: its genuine pairs beat every impostor not yet accepted and tie with the
  // impostors of the same group.
  double wins = 0;
  for (std::size_t i = 1; i < s.steps.size(); ++i) {
    const double g = static_cast<double>(s.steps[i].true_accepts - s.steps[i - 1].true_accepts);
    const double tied = static_cast<double>(s.steps[i].false_accepts - s.steps[i - 1].false_accepts);
    wins += g * (static_cast<double>(s.impostors - s.steps[i].false_accepts) + tied / 2);
  }
  return wins / (static_cast<double>(s.genuine) * static_cast<double>(s.impostors));
}

EqualErrorRate equal_error_rate(std::span<const ScoredPair> pairs) {
  EqualErrorRate eer;
  double best_gap = 2;
  for (const auto& p : roc_curve(pairs)) {
    const double frr = 1 - p.tar, gap = std::abs(p.far - frr);
    if (gap < best_gap) {
      best_gap = gap;
      eer = {(p.far + frr) / 2, p.threshold};
    }
  }
  return eer;
}

TarAtFar tar_at_far(std::span<const ScoredPair> pairs, double target_far) {
  if (!(target_far > 0 && target_far < 1))
    throw Error(ErrorCode::invalid_argument,
                "a target FAR must be between 0 and 1, not " + std::to_string(target_far));
  TarAtFar r;
  r.target_far = target_far;
  std::vector<double> impostor;
  for (const auto& p : pairs) {
    if (p.same) {
      ++r.genuine;
    } else {
      impostor.push_back(p.distance);
    }
  }
  r.impostors = impostor.size();
  // The small epsilon keeps 1e-3 * 1000 from rounding down to 0.
  const auto allowed =
      static_cast<std::size_t>(std::floor(target_far * static_cast<double>(r.impostors) + 1e-9));
  r.supported = allowed >= 1 && allowed < r.impostors;
  if (!r.supported) return r;
  std::nth_element(impostor.begin(), impostor.begin() + static_cast<std::ptrdiff_t>(allowed), impostor.end());
  r.threshold = impostor[allowed];
  for (const auto& p : pairs)
    if (is_match(p.distance, r.threshold)) ++(p.same ? r.true_accepts : r.false_accepts);
  r.tar = fraction(r.true_accepts, r.genuine);
  r.far = fraction(r.false_accepts, r.impostors);
  return r;
}

}  // namespace facematch
