// Enrolment throughput against embed throughput, per gallery back end (issue 13: enrolment must be
// limited by the face pipeline, not the database: >= 90% of embed throughput).
//
//   facematch_gallery_enrol_bench [--photos 60] [--rounds 3] [--gallery LOCATION]...
//
// Photos are the first N of ../shared/calibration/manifest.csv, read into memory first. Each round
// times, photo by photo, Verifier::analyze_encoded (what /embed does) and Gallery::enrol into every
// gallery (a fresh SQLite file in a temporary folder and a throw-away PostgreSQL server unless
// --gallery is given), interleaved so that a busy machine slows all of them alike; then add_face of the
// same records alone (the database's share). Prints medians per photo and the ratios.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "facematch/error.hpp"
#include "facematch/gallery.hpp"
#include "facematch/models.hpp"
#include "facematch/verifier.hpp"
#include "median.hpp"
#ifdef FACEMATCH_BENCH_POSTGRES
#include "postgres_server.hpp"
#endif

namespace fm = facematch;
namespace fs = std::filesystem;

namespace {

std::vector<std::uint8_t> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Enrolment throughput of each gallery back end against embed throughput");
  std::size_t photos = 60;
  int rounds = 3;
  std::vector<std::string> locations;
  fs::path shared = fs::path(FACEMATCH_SOURCE_DIR) / ".." / "shared";
  fs::path models_dir = fs::path(FACEMATCH_SOURCE_DIR) / "models";
  app.add_option("--photos", photos, "calibration photos per round")->check(CLI::PositiveNumber);
  app.add_option("--rounds", rounds, "rounds (medians over all photos of all rounds)")
      ->check(CLI::PositiveNumber);
  app.add_option("--gallery", locations,
                 "gallery locations (default: a temporary SQLite file and a "
                 "throw-away PostgreSQL server)");
  app.add_option("--shared", shared, "the shared photo folder");
  app.add_option("--models", models_dir, "the models folder");
  CLI11_PARSE(app, argc, argv);

  try {
    std::string tmp_name = "facematch-enrol-bench-";
    tmp_name += std::to_string(::getpid());
    const fs::path tmp = fs::temp_directory_path() / tmp_name;
    fs::create_directories(tmp);
#ifdef FACEMATCH_BENCH_POSTGRES
    std::unique_ptr<fm::testing::PostgresServer> postgres;
#endif
    if (locations.empty()) {
      locations.push_back((tmp / "gallery.sqlite").string());
#ifdef FACEMATCH_BENCH_POSTGRES
      postgres = std::make_unique<fm::testing::PostgresServer>();
      locations.push_back(postgres->dsn());
#endif
    }

    std::vector<std::vector<std::uint8_t>> images;
    {
      std::ifstream manifest(shared / "calibration" / "manifest.csv");
      if (!manifest) throw std::runtime_error("no " + (shared / "calibration" / "manifest.csv").string());
      std::string line;
      std::getline(manifest, line);
      while (images.size() < photos && std::getline(manifest, line)) {
        images.push_back(read_bytes(shared / "calibration" / line.substr(0, line.find(','))));
      }
    }

    const fm::Verifier verifier(fm::Models::load(models_dir), 1);
    const auto pipeline = fm::recommended_pipeline();
    verifier.warm_up(pipeline);
    std::vector<std::unique_ptr<fm::Gallery>> galleries;
    for (const auto& location : locations) {
      galleries.push_back(std::make_unique<fm::Gallery>(fm::open_gallery_store(location), verifier));
    }

    std::vector<double> embed_ms;
    std::vector<std::vector<double>> enrol_ms(galleries.size()), store_ms(galleries.size());
    std::vector<std::size_t> refused(galleries.size());
    std::vector<fm::FaceRecord> records;
    for (int round = 0; round < rounds; ++round) {
      for (std::size_t i = 0; i < images.size(); ++i) {
        auto t = std::chrono::steady_clock::now();
        try {
          verifier.analyze_encoded(images[i], pipeline);
        } catch (const fm::Error&) {
        }
        embed_ms.push_back(ms_since(t));
        std::string subject = "p";
        subject += std::to_string(round);
        subject += "_";
        subject += std::to_string(i);
        for (std::size_t g = 0; g < galleries.size(); ++g) {
          t = std::chrono::steady_clock::now();
          try {
            const auto enrolled = galleries[g]->enrol(subject, images[i]);
            if (g == 0) records.push_back(enrolled.face);
          } catch (const fm::Error&) {
            ++refused[g];  // no face or a poor one: the pipeline's time counts all the same
          }
          enrol_ms[g].push_back(ms_since(t));
        }
      }
    }
    // The database alone: the same records once more under other names.
    for (std::size_t g = 0; g < galleries.size(); ++g) {
      for (auto r : records) {
        r.subject = "again_" + r.subject;
        const auto t = std::chrono::steady_clock::now();
        galleries[g]->store().add_face(r);
        store_ms[g].push_back(ms_since(t));
      }
    }

    const double embed = fm::bench::median(embed_ms);
    std::printf("photos %zu x %d rounds (%zu enrolled per back end), 1 worker thread\n", images.size(),
                rounds, records.size());
    std::printf("%-12s %12s %14s %16s %14s\n", "back end", "median ms", "photos/s", "vs embed",
                "add_face ms");
    std::printf("%-12s %12.2f %14.2f %16s %14s\n", "embed", embed, 1000.0 / embed, "1.00", "-");
    for (std::size_t g = 0; g < galleries.size(); ++g) {
      const double enrol = fm::bench::median(enrol_ms[g]);
      std::printf("%-12s %12.2f %14.2f %16.3f %14.3f\n", galleries[g]->store().kind().c_str(), enrol,
                  1000.0 / enrol, embed / enrol, fm::bench::median(store_ms[g]));
    }
    galleries.clear();
    fs::remove_all(tmp);
  } catch (const std::exception& e) {
    std::cerr << "facematch_gallery_enrol_bench: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
