// Identification accuracy of the gallery (issue 13, docs/gallery-accuracy.md), driven by
// tools/gallery-accuracy.sh. Not a test.
//
//   facematch_gallery_accuracy [--calibration DIR] [--models DIR] [--threads 2] [--folds 4]
//                              [--enrol 1 --enrol 3] [--json OUT] [--save-descriptors OUT.csv]
//
// Every photo of identities.csv is analysed once (recommended_pipeline(), the gallery's default) and
// kept in memory. The identities are split into `folds` groups by a hash of their name; in each fold one
// group is held out (never enrolled: its photos are the non-mated searches) and the others are enrolled
// through Gallery::enrol_analysis into a fresh SQLite gallery, `enrol` photos each (the first by a hash of
// the file name that enrolment accepts, i.e. a face of acceptable quality, and never every photo: at
// least one is left to probe). Every other photo of an enrolled identity is a mated search. Each probe
// goes through Gallery::identify_embedding at each built-in operating point and at the 1:1 default
// threshold. Over all folds every identity is held out once.
//
//   rank-k      mated searches whose subject is among the first k candidates (no threshold)
//   FNIR(t)     mated searches not answered `identified` = their own subject at t
//   FPIR(t)     non-mated searches answered `identified` (anyone) at t
// A photo the pipeline cannot analyse (no face, a face too poor to compare) is a search that identifies
// nobody: a miss when mated, a correct rejection when not.
// --save-descriptors writes each analysed photo's descriptor (img,identity,v0..v127) for the search
// benchmark (bench/gallery_search_bench.cpp), which mixes them among synthetic ones.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "facematch/compare.hpp"
#include "facematch/error.hpp"
#include "facematch/gallery.hpp"
#include "facematch/models.hpp"
#include "facematch/operating_point.hpp"
#include "facematch/verifier.hpp"

namespace fm = facematch;
namespace fs = std::filesystem;

namespace {

// FNV-1a: a stable order of identities and photos that does not follow CelebA's numbering.
std::uint64_t stable_hash(const std::string& text) {
  std::uint64_t h = 1469598103934665603ull;
  for (const unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  return h;
}

struct Photo {
  std::string img, identity;
  std::optional<fm::ImageAnalysis> analysis;  // empty when the pipeline refused the photo
  std::string error;                          // its ErrorCode then
};

std::vector<Photo> read_identities(const fs::path& calibration) {
  const auto csv = calibration / "identities.csv";
  std::ifstream in(csv);
  if (!in)
    throw std::runtime_error("no " + csv.string() +
                             " (the calibration photos live in ../shared/calibration)");
  std::vector<Photo> photos;
  std::string line;
  std::getline(in, line);  // img,identity
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto comma = line.find(',');
    if (comma == std::string::npos) continue;
    photos.push_back({line.substr(0, comma), line.substr(comma + 1), std::nullopt, {}});
  }
  return photos;
}

// Each photo once, `threads` at a time; the descriptors stay in memory for every fold and variant.
void analyse_all(std::vector<Photo>& photos, const fs::path& calibration, const fm::Verifier& verifier,
                 const fm::PipelineOptions& pipeline, std::size_t threads) {
  std::atomic<std::size_t> next{0};
  std::mutex progress;
  const auto work = [&] {
    for (;;) {
      const std::size_t i = next++;
      if (i >= photos.size()) return;
      auto& p = photos[i];
      try {
        auto analysis = verifier.analyze_file(calibration / p.img, pipeline);
        analysis.times = {};
        p.analysis = std::move(analysis);
      } catch (const fm::Error& e) {
        p.error = std::string(fm::to_string(e.code()));
      }
      if ((i + 1) % 250 == 0) {
        std::lock_guard lock(progress);
        std::fprintf(stderr, "analysed %zu / %zu\n", i + 1, photos.size());
      }
    }
  };
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t) pool.emplace_back(work);
  for (auto& t : pool) t.join();
}

// A decision rule identify applies: a built-in operating point, or a threshold given by the call.
struct Point {
  std::string name;  // as reported
  fm::IdentifyOptions options;
  double threshold = 0;
  std::string role;  // which default it is, if any
};

struct PointCounts {
  std::size_t mated_hits = 0;     // identified as their own subject
  std::size_t mated_wrong = 0;    // identified as somebody else
  std::size_t nonmated_hits = 0;  // identified as anybody
};

struct Counts {
  std::size_t folds = 0, gallery_subjects = 0, gallery_faces = 0;  // summed over folds
  std::size_t enrol_refused = 0;  // photos enrolment would refuse (skipped for the next one)
  std::size_t unenrolled = 0;     // identities with no photo enrolment accepts
  std::size_t mated = 0, nonmated = 0, mated_failed = 0, nonmated_failed = 0;
  std::size_t rank1 = 0, rank5 = 0;
  std::vector<PointCounts> points;
  // Top-1 distance of each analysed search, for the trade-off at other thresholds.
  std::vector<double> nonmated_top1;
  std::vector<std::pair<double, bool>> mated_top1;  // distance, top-1 is the right subject
};

double share(std::size_t n, std::size_t of) { return of == 0 ? 0.0 : static_cast<double>(n) / of; }

// FNIR at the threshold that gives at most `fpir` of the non-mated searches (the failed ones included).
std::pair<double, double> fnir_at_fpir(const Counts& c, double fpir) {
  auto d = c.nonmated_top1;
  std::sort(d.begin(), d.end());
  const auto allowed = static_cast<std::size_t>(fpir * static_cast<double>(c.nonmated));
  // identified when distance < t: t = the (allowed+1)-th smallest non-mated distance admits `allowed`.
  const double t = allowed < d.size() ? d[allowed] : 2.0;
  std::size_t hits = 0;
  for (const auto& [distance, right] : c.mated_top1) hits += right && fm::is_match(distance, t);
  return {t, 1.0 - share(hits, c.mated)};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Identification accuracy of the gallery on the calibration photos");
  fs::path calibration = fs::path(FACEMATCH_SOURCE_DIR) / ".." / "shared" / "calibration";
  fs::path models_dir = fs::path(FACEMATCH_SOURCE_DIR) / "models";
  std::size_t threads = 2, folds = 4;
  std::vector<std::size_t> enrol_counts;
  std::string json_out, descriptors_out;
  app.add_option("--calibration", calibration, "the calibration folder (identities.csv and its photos)");
  app.add_option("--models", models_dir, "the models folder");
  app.add_option("--threads", threads, "photos analysed at once")->check(CLI::PositiveNumber);
  app.add_option("--folds", folds, "identity groups; each is held out (non-mated) once")
      ->check(CLI::Range(2, 20));
  app.add_option("--enrol", enrol_counts, "photos enrolled per identity, one variant each (default 1 and 3)")
      ->check(CLI::PositiveNumber);
  app.add_option("--json", json_out, "also write the figures as JSON to this file");
  app.add_option("--save-descriptors", descriptors_out,
                 "write every analysed photo's descriptor to this CSV");
  CLI11_PARSE(app, argc, argv);
  if (enrol_counts.empty()) enrol_counts = {1, 3};

  try {
    auto photos = read_identities(calibration);
    std::map<std::string, std::vector<std::size_t>> by_identity;
    for (std::size_t i = 0; i < photos.size(); ++i) by_identity[photos[i].identity].push_back(i);
    for (auto& [identity, list] : by_identity) {
      std::sort(list.begin(), list.end(), [&](std::size_t a, std::size_t b) {
        return stable_hash(photos[a].img) < stable_hash(photos[b].img);
      });
    }
    std::vector<std::string> identities;
    for (const auto& [identity, list] : by_identity) identities.push_back(identity);
    std::sort(identities.begin(), identities.end(),
              [](const std::string& a, const std::string& b) { return stable_hash(a) < stable_hash(b); });

    const fm::Verifier verifier(fm::Models::load(models_dir), threads);
    const fm::GalleryOptions gallery_options;  // the defaults identify and enrolment run with
    const auto& pipeline = gallery_options.pipeline;
    verifier.warm_up(pipeline);
    const auto started = std::chrono::steady_clock::now();
    analyse_all(photos, calibration, verifier, pipeline, threads);
    const double analyse_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::size_t failed = 0;
    for (const auto& p : photos) failed += !p.analysis;
    std::fprintf(stderr, "analysed %zu photos of %zu identities in %.0f s (%zu refused)\n", photos.size(),
                 identities.size(), analyse_s, failed);

    if (!descriptors_out.empty()) {
      std::ofstream out(descriptors_out);
      for (const auto& p : photos) {
        if (!p.analysis) continue;
        out << p.img << ',' << p.identity;
        char value[32];
        for (const float v : p.analysis->chosen_embedding().values) {
          std::snprintf(value, sizeof value, ",%.9g", v);
          out << value;
        }
        out << '\n';
      }
      if (!out) throw std::runtime_error("cannot write " + descriptors_out);
    }

    std::vector<Point> points;
    const auto& builtin = fm::builtin_operating_points();
    for (const auto& op : builtin.points) {
      Point p{op.name, {}, op.threshold, {}};
      p.options.operating_point = op.name;
      if (op.name == gallery_options.identify_operating_point) p.role = "identify default (1:N)";
      if (op.name == builtin.default_point) p.role = "default operating point of verify files";
      points.push_back(p);
    }
    {
      Point p{"threshold 0.6", {}, gallery_options.verify_threshold, "verify default (1:1)"};
      p.options.threshold = gallery_options.verify_threshold;
      points.push_back(p);
    }
    std::sort(points.begin(), points.end(),
              [](const Point& a, const Point& b) { return a.threshold < b.threshold; });

    std::string tmp_name = "facematch-gallery-accuracy-";
    tmp_name += std::to_string(::getpid());
    const fs::path tmp = fs::temp_directory_path() / tmp_name;
    fs::create_directories(tmp);

    std::vector<Counts> results;
    for (const std::size_t per_identity : enrol_counts) {
      Counts c;
      c.points.resize(points.size());
      for (std::size_t fold = 0; fold < folds; ++fold) {
        const auto file =
            tmp / ("enrol" + std::to_string(per_identity) + "-fold" + std::to_string(fold) + ".sqlite");
        fm::Gallery gallery(fm::open_sqlite_store(file), verifier, gallery_options);
        std::vector<std::pair<std::size_t, std::optional<std::string>>> searches;  // photo, its subject
        for (std::size_t r = 0; r < identities.size(); ++r) {
          const auto& identity = identities[r];
          const auto& list = by_identity.at(identity);
          if (r % folds == fold) {
            for (const auto i : list) searches.emplace_back(i, std::nullopt);
            continue;
          }
          const std::size_t wanted = std::min(per_identity, list.size() - 1);
          std::vector<bool> enrolled(list.size());
          std::size_t done = 0;
          for (std::size_t j = 0; j < list.size() && done < wanted; ++j) {
            const auto& p = photos[list[j]];
            // Enrolment refuses what the pipeline refuses and any face with a quality reason; a photo
            // left over still counts as a search so that every identity keeps one.
            if (!p.analysis || !p.analysis->quality.at(p.analysis->chosen).acceptable()) {
              ++c.enrol_refused;
              continue;
            }
            gallery.enrol_analysis(identity, *p.analysis);
            enrolled[j] = true;
            ++done;
          }
          if (done == 0) {
            ++c.unenrolled;  // its photos would be non-mated searches of an identity meant to be enrolled
            continue;
          }
          for (std::size_t j = 0; j < list.size(); ++j)
            if (!enrolled[j]) searches.emplace_back(list[j], identity);
        }
        ++c.folds;
        c.gallery_subjects += gallery.subject_count();
        c.gallery_faces += gallery.face_count();

        for (const auto& [i, subject] : searches) {
          const auto& p = photos[i];
          (subject ? c.mated : c.nonmated)++;
          if (!p.analysis) {
            (subject ? c.mated_failed : c.nonmated_failed)++;
            continue;
          }
          const auto& probe = p.analysis->chosen_embedding();
          for (std::size_t k = 0; k < points.size(); ++k) {
            auto options = points[k].options;
            options.top_k = 5;
            const auto id = gallery.identify_embedding(probe, options);
            if (k == 0) {
              const auto& cands = id.candidates;
              if (subject) {
                const auto at = std::find_if(cands.begin(), cands.end(),
                                             [&](const fm::Candidate& x) { return x.subject == *subject; });
                c.rank1 += at == cands.begin() && at != cands.end();
                c.rank5 += at != cands.end();
                if (!cands.empty())
                  c.mated_top1.emplace_back(cands[0].distance, cands[0].subject == *subject);
              } else if (!cands.empty()) {
                c.nonmated_top1.push_back(cands[0].distance);
              }
            }
            auto& pc = c.points[k];
            if (!id.identified) continue;
            if (!subject) {
              ++pc.nonmated_hits;
            } else if (*id.identified == *subject) {
              ++pc.mated_hits;
            } else {
              ++pc.mated_wrong;
            }
          }
        }
      }
      results.push_back(std::move(c));
    }
    fs::remove_all(tmp);

    nlohmann::json j;
    j["photos"] = photos.size();
    j["identities"] = identities.size();
    j["refused_photos"] = failed;
    j["analyse_seconds"] = analyse_s;
    j["folds"] = folds;
    std::printf(
        "%zu photos of %zu identities (%zu refused by the pipeline), analysed once in %.0f s; %zu folds, "
        "each holding out 1/%zu of the identities\n",
        photos.size(), identities.size(), failed, analyse_s, folds, folds);
    for (std::size_t v = 0; v < results.size(); ++v) {
      const auto& c = results[v];
      const double subjects = static_cast<double>(c.gallery_subjects) / c.folds;
      const double faces = static_cast<double>(c.gallery_faces) / c.folds;
      std::printf("\n## up to %zu enrolled photo(s) per identity\n\n", enrol_counts[v]);
      std::printf(
          "gallery %.1f subjects, %.1f faces (mean over folds); enrolment refused %zu photos, %zu "
          "identities had none enrolable\n",
          subjects, faces, c.enrol_refused, c.unenrolled);
      std::printf(
          "mated searches %zu (%zu without a usable face), non-mated %zu (%zu without a usable face)\n",
          c.mated, c.mated_failed, c.nonmated, c.nonmated_failed);
      std::printf("rank-1 %.2f%%  rank-5 %.2f%%\n\n", 100 * share(c.rank1, c.mated),
                  100 * share(c.rank5, c.mated));
      std::printf(
          "| decision | threshold | FNIR | of which wrong subject | FPIR | role "
          "|\n|---|---|---|---|---|---|\n");
      nlohmann::json variant;
      variant["enrol_per_identity"] = enrol_counts[v];
      variant["gallery_subjects_mean"] = subjects;
      variant["gallery_faces_mean"] = faces;
      variant["enrol_refused"] = c.enrol_refused;
      variant["unenrolled_identities"] = c.unenrolled;
      variant["mated"] = c.mated;
      variant["mated_failed"] = c.mated_failed;
      variant["nonmated"] = c.nonmated;
      variant["nonmated_failed"] = c.nonmated_failed;
      variant["rank1"] = share(c.rank1, c.mated);
      variant["rank5"] = share(c.rank5, c.mated);
      for (std::size_t k = 0; k < points.size(); ++k) {
        const auto& pc = c.points[k];
        const double fnir = 1.0 - share(pc.mated_hits, c.mated);
        const double fpir = share(pc.nonmated_hits, c.nonmated);
        std::printf("| %s | %.4f | %.2f%% | %.2f%% | %.2f%% | %s |\n", points[k].name.c_str(),
                    points[k].threshold, 100 * fnir, 100 * share(pc.mated_wrong, c.mated), 100 * fpir,
                    points[k].role.c_str());
        variant["points"].push_back({{"name", points[k].name},
                                     {"threshold", points[k].threshold},
                                     {"role", points[k].role},
                                     {"fnir", fnir},
                                     {"mated_wrong_subject", share(pc.mated_wrong, c.mated)},
                                     {"fpir", fpir}});
      }
      std::printf("\n| FPIR at most | threshold | FNIR |\n|---|---|---|\n");
      for (const double target : {0.1, 0.05, 0.01, 0.001}) {
        const auto [t, fnir] = fnir_at_fpir(c, target);
        std::printf("| %.1f%% | %.4f | %.2f%% |\n", 100 * target, t, 100 * fnir);
        variant["fnir_at_fpir"].push_back({{"fpir", target}, {"threshold", t}, {"fnir", fnir}});
      }
      j["variants"].push_back(variant);
    }
    if (!json_out.empty()) std::ofstream(json_out) << j.dump(2) << '\n';
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "facematch_gallery_accuracy: %s\n", e.what());
    return 1;
  }
}
