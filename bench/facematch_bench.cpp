// Median timings of each stage and net, printed as one JSON object for bench/run.sh to tabulate next to
// the face-api reference measured in the same run. Not a test: nothing here passes or fails.
//
//   facematch_bench MODELS_DIR IMAGE [PAIR_A PAIR_B] [N]
// IMAGE is timed stage by stage (sample1.jpg: 3 faces); PAIR_A and PAIR_B are scaled to fit 640x480,
// JPEG-encoded in memory and verified (issue 7's "two one-face ~640x480 photos"). Every figure is given
// for fp32 (exact) and for auto (what this CPU runs by default). Threads: OMP_NUM_THREADS.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "bench_photo.hpp"
#include "engine/executor.hpp"
#include "facematch/embed.hpp"
#include "facematch/landmarks.hpp"
#include "facematch/verifier.hpp"
#include "image/face_api_resize.hpp"
#include "median.hpp"
#include "report/json_report.hpp"

namespace {

using namespace facematch;

using bench::median_ms;
using bench::paired_median_ms;

std::vector<std::uint8_t> jpeg_640x480(const std::string& path) {
  cv::Mat image = read_image(path);
  const double scale = std::min({640.0 / image.cols, 480.0 / image.rows, 1.0});
  cv::resize(image, image, {}, scale, scale, cv::INTER_AREA);
  cv::cvtColor(image, image, cv::COLOR_RGB2BGR);
  std::vector<std::uint8_t> bytes;
  cv::imencode(".jpg", image, bytes, {cv::IMWRITE_JPEG_QUALITY, 90});
  return bytes;
}

// Median ms of each stage of a verify, per image (the two images are decoded and detected at the same
// time when there are threads for both; landmarks and embeddings are one batch, shared out by face).
nlohmann::json verify_stages(Verifier& verifier, const std::vector<std::uint8_t>& a,
                             const std::vector<std::uint8_t>& b, const PipelineOptions& options, int n) {
  std::vector<StageTimes> first, second;
  for (int i = 0; i < n; ++i) {
    const auto v = verifier.verify_encoded(a, b, options);
    first.push_back(v.first.times);
    second.push_back(v.second.times);
  }
  nlohmann::json out;
  for (const auto& [name, field] : {std::pair{"decode", &StageTimes::decode_ms},
                                    {"detect", &StageTimes::detect_ms},
                                    {"landmarks", &StageTimes::landmarks_ms},
                                    {"align", &StageTimes::align_ms},
                                    {"embed", &StageTimes::embed_ms}}) {
    std::vector<double> a_ms, b_ms;
    for (const auto& t : first) a_ms.push_back(t.*field);
    for (const auto& t : second) b_ms.push_back(t.*field);
    out[name] = {bench::median(std::move(a_ms)), bench::median(std::move(b_ms))};
  }
  return out;
}

}  // namespace

// Only the default verify of the pair, N times after a warm-up: a steady process for bench/profile.sh to
// sample, with nothing else in it. The photos are facematch_load's (about 640x480 pixels, aspect kept),
// so that bench/load.sh compares the service with the same work. Prints the median wall and CPU ms.
int verify_loop(const std::string& models_dir, const std::string& pair_a, const std::string& pair_b, int n) {
  const Verifier verifier(Models::load(models_dir), 1);
  int w = 0, h = 0;
  const auto pa = bench::jpeg_of_about(pair_a, 640 * 480, w, h),
             pb = bench::jpeg_of_about(pair_b, 640 * 480, w, h);
  const auto options = recommended_pipeline();
  for (int i = 0; i < 5; ++i) (void)verifier.verify_encoded(pa, pb, options);
  const auto verify = [&] { (void)verifier.verify_encoded(pa, pb, options); };
  const double wall_ms = median_ms(n, verify), cpu_ms = bench::median_process_cpu_ms(n, verify);
  std::cout << nlohmann::json{{"verify_640x480_ms", wall_ms},
                              {"verify_640x480_cpu_ms", cpu_ms},
                              {"threads_per_call", verifier.threads_per_call()}}
                   .dump()
            << '\n';
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 6 && std::string(argv[2]) == "--verify-loop")
    return verify_loop(argv[1], argv[3], argv[4], std::stoi(argv[5]));
  if (argc < 3) {
    std::cerr << "usage: facematch_bench MODELS_DIR IMAGE [PAIR_A PAIR_B] [N]\n"
                 "       facematch_bench MODELS_DIR --verify-loop PAIR_A PAIR_B N\n";
    return 2;
  }
  const std::string models_dir = argv[1], image = argv[2];
  const std::string pair_a = argc > 4 ? argv[3] : image, pair_b = argc > 4 ? argv[4] : image;
  const int n = argc > 5 ? std::stoi(argv[5]) : argc == 4 ? std::stoi(argv[3]) : 20;
  const auto models = Models::load(models_dir);
  Verifier verifier(models, 1);
  const cv::Mat rgb = read_image(image);
  nlohmann::json out = {{"image", image},
                        {"width", rgb.cols},
                        {"height", rgb.rows},
                        {"n", n},
                        {"isa", engine::cpu_isa_name()},
                        {"threads_per_call", verifier.threads_per_call()}};

  out["decode_ms"] = median_ms(n, [&] { (void)read_image(image); });
  for (const auto kind : {DetectorKind::ssd, DetectorKind::tiny}) {
    PipelineOptions o;
    o.detector.kind = kind;
    auto detector = make_detector(models, o.detector);
    const std::string name(to_string(kind));
    out["detect_ms"][name] = median_ms(n, [&] { (void)detector->detect(rgb); });
    out["faces"][name] = detector->detect(rgb).size();
  }
  SsdFaceDetector ssd(models);
  const std::vector<float> in150(150 * 150 * 3, 128.f), in112(112 * 112 * 3, 128.f),
      in512(512 * 512 * 3, 128.f);
  out["ssd_net_ms"] = median_ms(n, [&] { (void)ssd.run_net(in512); });

  const auto pa = jpeg_640x480(pair_a), pb = jpeg_640x480(pair_b);
  out["pair"] = {pair_a, pair_b};
  // The same bytes for the face-api reference (bench/run.sh --summary's pair_speedup).
  if (const char* dir = std::getenv("FACEMATCH_BENCH_PAIR_DIR"); dir && *dir) {
    for (const auto& [name, bytes] : {std::pair{"pair_a.jpg", &pa}, std::pair{"pair_b.jpg", &pb}}) {
      std::ofstream file(std::filesystem::path(dir) / name, std::ios::binary);
      file.write(reinterpret_cast<const char*>(bytes->data()), static_cast<std::streamsize>(bytes->size()));
    }
  }
  for (const auto precision : {Precision::fp32, Precision::automatic}) {
    PipelineOptions options;
    options.precision = precision;
    auto& o = out[std::string(to_string(precision))];
    const auto handle = models->with_precision(precision);
    TinyFaceDetector tiny(handle);
    o["tiny_detect_ms"] = median_ms(n, [&] { (void)tiny.detect(rgb); });
    const auto faces = verifier.detect(rgb, options);
    LandmarkDetector landmarks(handle);
    FaceEmbedder embedder(handle);
    if (!faces.empty()) {
      o["landmarks_ms_per_face"] = median_ms(n, [&] { (void)landmarks.detect(rgb, faces[0].detection); });
      std::vector<FaceInImage> all;
      std::vector<cv::Mat> chips;
      for (const auto& f : faces) {
        all.push_back({&rgb, f.detection});
        chips.push_back(extract_chip(rgb, f, options.align));
      }
      o["landmarks_batch_ms_per_face"] = median_ms(n, [&] { (void)landmarks.detect(all); }) / all.size();
      for (const auto mode : {AlignMode::faceapi, AlignMode::similarity})
        o["align_ms_per_face"][std::string(to_string(mode))] =
            median_ms(n, [&] { (void)extract_chip(rgb, faces[0], mode); });
      o["embed_ms_per_face"] = median_ms(n, [&] { (void)embedder.embed(chips[0]); });
      o["embed_batch_ms_per_face"] = median_ms(n, [&] { (void)embedder.embed(chips); }) / chips.size();
      o["embed_flip_ms_per_face"] = median_ms(n, [&] { (void)embedder.embed(chips[0], true); });
    }
    // Each net alone on a fixed input, as the reference's "net alone" figures.
    o["recognition_net_ms"] = median_ms(n, [&] { (void)embedder.run_net(in150); });
    o["landmark_net_ms"] = median_ms(n, [&] { (void)landmarks.run_net(in112); });
    o["pipeline_ms"] = median_ms(n, [&] { (void)verifier.analyze(rgb, options, /*embed_all_faces=*/true); });
    o["verify_files_ms"] = median_ms(n, [&] { (void)verifier.verify_files(image, image, options); });
    o["verify_640x480_ms"] = median_ms(n, [&] { (void)verifier.verify_encoded(pa, pb, options); });
    o["verify_640x480_stages"] = verify_stages(verifier, pa, pb, options, n);
  }
  // What the CLI and the service run by default: the cascade (SSD only when tiny is unsure), the
  // low-light retry and flip averaging, precision auto; then the same with --precision int8.
  for (const auto precision : {Precision::automatic, Precision::int8}) {
    auto options = recommended_pipeline();
    options.precision = precision;
    auto& o = out[precision == Precision::int8 ? "recommended_int8" : "recommended"];
    FaceEmbedder embedder(models->with_precision(precision));
    o["recognition_net_ms"] = median_ms(n, [&] { (void)embedder.run_net(in150); });
    o["pipeline_ms"] = median_ms(n, [&] { (void)verifier.analyze(rgb, options, /*embed_all_faces=*/true); });
    o["faces"] = verifier.analyze(rgb, options, true).faces.size();
    o["verify_640x480_ms"] = median_ms(n, [&] { (void)verifier.verify_encoded(pa, pb, options); });
    o["verify_640x480_stages"] = verify_stages(verifier, pa, pb, options, n);
  }
  // The defaults without issue 12's recall extras (the border and quarter-turn retries, the cascade's
  // doubt band): what finding more faces costs photos whose faces the first pass finds.
  // The two are timed in alternation (paired_median_ms), as their ratio is the figure that matters.
  {
    const auto with = recommended_pipeline();
    auto without = with;
    without.detector.retry_quarter_turns = false;
    without.detector.border_retry_fraction = 0;
    without.detector.cascade_doubt_score = 0;
    auto& o = out["recommended_without_recall_extras"];
    const auto pipeline = paired_median_ms(
        n, [&] { (void)verifier.analyze(rgb, with, /*embed_all_faces=*/true); },
        [&] { (void)verifier.analyze(rgb, without, /*embed_all_faces=*/true); });
    const auto pair = paired_median_ms(
        n, [&] { (void)verifier.verify_encoded(pa, pb, with); },
        [&] { (void)verifier.verify_encoded(pa, pb, without); });
    o["pipeline_ms"] = pipeline.b_ms;
    o["verify_640x480_ms"] = pair.b_ms;
    o["recall_extras_cost"] = {{"pipeline", pipeline.ratio}, {"verify_640x480", pair.ratio}};
  }
  // What auto chose per net for the verifier's threads (measured in this run or read from the cache).
  out["auto_nets"] = report::nets_json(
      models->with_precision(Precision::automatic)->net_precisions(verifier.threads_per_call()));
  std::cout << out.dump() << '\n';
  return 0;
}
