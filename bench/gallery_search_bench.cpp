// Search at gallery scale (issue 13, docs/gallery-search.md): faiss IndexFlatL2 (exact, what the Gallery
// uses) against IndexHNSWFlat (approximate) on 10k, 100k and 1M descriptors. Not a test, and not in CI.
//
//   facematch_gallery_search_bench --descriptors build/gallery-accuracy/descriptors.csv
//       [--size 10000 --size 100000 --size 1000000] [--hnsw-m 32] [--ef-construction 40]
//       [--ef-search 16 --ef-search 32 ...] [--build-threads 2] [--gallery-faces 10000] [--exact-only]
//
// The index holds random unit-norm 128-D vectors (seeded) with the real descriptors of the calibration
// photos (tools/gallery-accuracy.sh writes them) spread among them; one photo of each identity is kept
// out of the index as a real query (its mates are in it), and as many random unit-norm vectors are
// synthetic queries. Each query is one search call (k = 20: identify asks faiss for 4 x top_k faces) on
// one thread, as a server worker runs it. HNSW recall is measured against the exact answer of the same
// query: recall@1 = same nearest face, recall@5 = share of the exact 5 nearest faces found in its 5.
// Memory is the process's resident-size growth while the index is built. --gallery-faces also times
// Gallery::identify_embedding itself (sync with the store, per-subject exact re-ranking) on a SQLite
// gallery of that many faces, to show what identify adds to the raw faiss search.
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <omp.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "facematch/embed.hpp"
#include "facematch/gallery.hpp"
#include "facematch/models.hpp"
#include "median.hpp"

namespace fm = facematch;
namespace fs = std::filesystem;
using idx_t = faiss::Index::idx_t;

namespace {

constexpr int kDimension = 128;
constexpr idx_t kNeighbours = 20;  // Gallery::search asks for 4 x top_k (5 by default)

struct Real {
  std::string identity;
  std::vector<float> values;
};

std::vector<Real> read_descriptors(const fs::path& path) {
  std::ifstream in(path);
  if (!in)
    throw std::runtime_error("no " + path.string() +
                             ": run tools/gallery-accuracy.sh first (it writes them)");
  std::vector<Real> out;
  std::string line;
  while (std::getline(in, line)) {
    std::stringstream row(line);
    std::string img, identity, value;
    std::getline(row, img, ',');
    std::getline(row, identity, ',');
    Real r{identity, {}};
    while (std::getline(row, value, ',')) r.values.push_back(std::stof(value));
    if (r.values.size() != kDimension)
      throw std::runtime_error("a row of " + path.string() + " is not 128-D");
    out.push_back(std::move(r));
  }
  return out;
}

void random_unit(std::mt19937_64& rng, float* out) {
  std::normal_distribution<float> normal;
  double norm = 0;
  for (int i = 0; i < kDimension; ++i) {
    out[i] = normal(rng);
    norm += static_cast<double>(out[i]) * out[i];
  }
  const auto scale = static_cast<float>(1.0 / std::sqrt(norm));
  for (int i = 0; i < kDimension; ++i) out[i] *= scale;
}

double resident_mb() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

struct Answers {
  std::vector<std::vector<idx_t>> ids;  // per query, nearest first
  std::vector<double> ms;               // per query
};

Answers search_each(const faiss::Index& index, const std::vector<float>& queries, idx_t k) {
  Answers a;
  const auto n = queries.size() / kDimension;
  std::vector<float> distances(static_cast<std::size_t>(k));
  for (std::size_t q = 0; q < n; ++q) {
    std::vector<idx_t> labels(static_cast<std::size_t>(k));
    const auto t = std::chrono::steady_clock::now();
    index.search(1, queries.data() + q * kDimension, k, distances.data(), labels.data());
    a.ms.push_back(seconds_since(t) * 1000);
    a.ids.push_back(std::move(labels));
  }
  return a;
}

// Recall of `approx` against `exact` over queries [from, to): @1 and @5 as described at the top.
std::pair<double, double> recall(const Answers& approx, const Answers& exact, std::size_t from,
                                 std::size_t to) {
  double at1 = 0, at5 = 0;
  for (std::size_t q = from; q < to; ++q) {
    at1 += approx.ids[q][0] == exact.ids[q][0];
    const std::set<idx_t> truth(exact.ids[q].begin(), exact.ids[q].begin() + 5);
    for (int i = 0; i < 5; ++i) at5 += truth.contains(approx.ids[q][static_cast<std::size_t>(i)]) / 5.0;
  }
  const auto n = static_cast<double>(to - from);
  return {at1 / n, at5 / n};
}

std::vector<double> slice(const std::vector<double>& v, std::size_t from, std::size_t to) {
  return {v.begin() + static_cast<std::ptrdiff_t>(from), v.begin() + static_cast<std::ptrdiff_t>(to)};
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Exact (IndexFlatL2) and approximate (IndexHNSWFlat) gallery search at scale");
  fs::path descriptors = fs::path(FACEMATCH_SOURCE_DIR) / "build" / "gallery-accuracy" / "descriptors.csv";
  std::vector<std::size_t> sizes;
  std::vector<int> ef_search;
  int hnsw_m = 32, ef_construction = 40, build_threads = 2;
  std::size_t gallery_faces = 0;
  bool exact_only = false;
  app.add_option("--descriptors", descriptors, "real descriptors (tools/gallery-accuracy.sh writes them)");
  app.add_option("--size", sizes, "faces in the index, one run each (default 10000, 100000, 1000000)");
  app.add_option("--hnsw-m", hnsw_m, "HNSW links per node")->check(CLI::Range(4, 128));
  app.add_option("--ef-construction", ef_construction, "HNSW build beam")->check(CLI::Range(8, 1024));
  app.add_option("--ef-search", ef_search, "HNSW search beams (default 16, 32, 64, 128)")
      ->check(CLI::Range(8, 4096));
  app.add_option("--build-threads", build_threads, "OpenMP threads building the HNSW graph")
      ->check(CLI::PositiveNumber);
  app.add_option("--gallery-faces", gallery_faces,
                 "also time Gallery::identify_embedding on this many faces");
  app.add_flag("--exact-only", exact_only, "time the exact index only (no HNSW build)");
  CLI11_PARSE(app, argc, argv);
  if (sizes.empty()) sizes = {10'000, 100'000, 1'000'000};
  if (ef_search.empty()) ef_search = {16, 32, 64, 128};

  try {
    const auto real = read_descriptors(descriptors);
    // One photo of each identity is a query; the others go into every index.
    std::vector<float> queries, indexed_real;
    std::set<std::string> queried;
    for (const auto& r : real) {
      auto& to = queried.insert(r.identity).second ? queries : indexed_real;
      to.insert(to.end(), r.values.begin(), r.values.end());
    }
    const std::size_t real_queries = queries.size() / kDimension;
    const std::size_t real_indexed = indexed_real.size() / kDimension;
    std::mt19937_64 rng(20261203);
    queries.resize(2 * queries.size());
    for (std::size_t q = real_queries; q < 2 * real_queries; ++q)
      random_unit(rng, queries.data() + q * kDimension);
    const std::size_t max_size = *std::max_element(sizes.begin(), sizes.end());
    if (max_size < real_indexed) throw std::runtime_error("sizes must hold the real descriptors");
    // Every size is a prefix of one sequence, real descriptors spread evenly through the smallest.
    std::vector<float> data(max_size * kDimension);
    for (std::size_t i = 0; i < max_size; ++i) random_unit(rng, data.data() + i * kDimension);
    const std::size_t stride = *std::min_element(sizes.begin(), sizes.end()) / real_indexed;
    for (std::size_t r = 0; r < real_indexed; ++r)
      std::copy_n(indexed_real.data() + r * kDimension, kDimension, data.data() + r * stride * kDimension);

    std::printf(
        "queries: %zu real (one photo per identity, mates indexed) + %zu random unit-norm; %zu real "
        "descriptors indexed; k = %ld; 1 thread per query; HNSW M %d, efConstruction %d, built on %d "
        "threads\n",
        real_queries, real_queries, real_indexed, static_cast<long>(kNeighbours), hnsw_m, ef_construction,
        build_threads);
    std::printf(
        "\n| faces | index | build s | memory MB | median ms (real) | median ms (random) | p90 ms | "
        "recall@1 real | recall@5 real | recall@1 random | recall@5 random |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|\n");
    const auto n_queries = 2 * real_queries;
    for (const std::size_t n : sizes) {
      omp_set_num_threads(1);
      double before = resident_mb();
      auto t = std::chrono::steady_clock::now();
      faiss::IndexFlatL2 exact(kDimension);
      exact.add(static_cast<idx_t>(n), data.data());
      const double exact_build = seconds_since(t);
      const double exact_mb = resident_mb() - before;
      const auto truth = search_each(exact, queries, kNeighbours);
      std::printf("| %zu | exact | %.2f | %.0f | %.2f | %.2f | %.2f | 1 | 1 | 1 | 1 |\n", n, exact_build,
                  exact_mb, fm::bench::median(slice(truth.ms, 0, real_queries)),
                  fm::bench::median(slice(truth.ms, real_queries, n_queries)), percentile(truth.ms, 0.9));
      std::fflush(stdout);

      if (exact_only) continue;
      omp_set_num_threads(build_threads);
      before = resident_mb();
      t = std::chrono::steady_clock::now();
      faiss::IndexHNSWFlat hnsw(kDimension, hnsw_m);
      hnsw.hnsw.efConstruction = ef_construction;
      hnsw.add(static_cast<idx_t>(n), data.data());
      const double hnsw_build = seconds_since(t);
      const double hnsw_mb = resident_mb() - before;
      omp_set_num_threads(1);
      for (const int ef : ef_search) {
        hnsw.hnsw.efSearch = std::max(ef, static_cast<int>(kNeighbours));
        const auto got = search_each(hnsw, queries, kNeighbours);
        const auto [r1, r5] = recall(got, truth, 0, real_queries);
        const auto [s1, s5] = recall(got, truth, real_queries, n_queries);
        std::printf("| %zu | HNSW ef %d | %.1f | %.0f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |\n",
                    n, hnsw.hnsw.efSearch, hnsw_build, hnsw_mb,
                    fm::bench::median(slice(got.ms, 0, real_queries)),
                    fm::bench::median(slice(got.ms, real_queries, n_queries)), percentile(got.ms, 0.9), r1,
                    r5, s1, s5);
        std::fflush(stdout);
      }
    }

    if (gallery_faces > 0) {
      // The whole identify search path on a real store: what the table's faiss figures leave out.
      const fs::path tmp =
          fs::temp_directory_path() / ("facematch-search-bench-" + std::to_string(::getpid()));
      fs::create_directories(tmp);
      {
        auto store = fm::open_sqlite_store(tmp / "gallery.sqlite");
        fm::FaceRecord r;
        r.descriptor.model = fm::kEmbeddingModelId;
        const auto t = std::chrono::steady_clock::now();
        for (std::size_t i = 0; i < std::min(gallery_faces, max_size); ++i) {
          r.subject = "s" + std::to_string(i / 3);  // 3 faces per subject, as the 3-photo enrolment
          r.descriptor.values.assign(data.begin() + static_cast<std::ptrdiff_t>(i * kDimension),
                                     data.begin() + static_cast<std::ptrdiff_t>((i + 1) * kDimension));
          store->add_face(r);
        }
        std::fprintf(stderr, "stored %zu faces in %.0f s\n", gallery_faces, seconds_since(t));
      }
      const fm::Verifier verifier(fm::Models::load(fs::path(FACEMATCH_SOURCE_DIR) / "models"), 1);
      fm::Gallery gallery(fm::open_sqlite_store(tmp / "gallery.sqlite"), verifier);
      auto t = std::chrono::steady_clock::now();
      gallery.sync();
      const double load_s = seconds_since(t);
      std::vector<double> ms;
      for (std::size_t q = 0; q < n_queries; ++q) {
        fm::Embedding probe;
        probe.model = fm::kEmbeddingModelId;
        probe.values.assign(queries.begin() + static_cast<std::ptrdiff_t>(q * kDimension),
                            queries.begin() + static_cast<std::ptrdiff_t>((q + 1) * kDimension));
        t = std::chrono::steady_clock::now();
        gallery.identify_embedding(probe);
        ms.push_back(seconds_since(t) * 1000);
      }
      std::printf(
          "\nGallery::identify_embedding on %zu faces (%zu subjects, SQLite): load %.2f s, median %.3f "
          "ms, p90 %.3f ms per query\n",
          gallery.face_count(), gallery.subject_count(), load_s, fm::bench::median(ms), percentile(ms, 0.9));
      fs::remove_all(tmp);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "facematch_gallery_search_bench: %s\n", e.what());
    return 1;
  }
}
