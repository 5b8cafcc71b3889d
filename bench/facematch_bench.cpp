// Median timings of each stage and net, printed as one JSON object for bench/run.sh to tabulate next to
// the face-api reference measured in the same run. Not a test: nothing here passes or fails.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "facematch/embed.hpp"
#include "facematch/landmarks.hpp"
#include "facematch/verifier.hpp"
#include "image/face_api_resize.hpp"

namespace {

using namespace facematch;
using Clock = std::chrono::steady_clock;

template <typename F>
double median_ms(int n, F&& f) {
  f();  // warm-up: first runs page in weights and JIT kernels
  std::vector<double> times;
  for (int i = 0; i < n; ++i) {
    const auto t = Clock::now();
    f();
    times.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: facematch_bench MODELS_DIR IMAGE [SECOND_IMAGE] [N]\n";
    return 2;
  }
  const std::string models_dir = argv[1], image = argv[2];
  const std::string second = argc > 3 ? argv[3] : image;
  const int n = argc > 4 ? std::stoi(argv[4]) : 20;
  const auto models = Models::load(models_dir);
  Verifier verifier(models, 1);
  const cv::Mat rgb = read_image(image);
  nlohmann::json out = {{"image", image}, {"width", rgb.cols}, {"height", rgb.rows}, {"n", n}};

  out["decode_ms"] = median_ms(n, [&] { (void)read_image(image); });
  for (const auto kind : {DetectorKind::ssd, DetectorKind::tiny}) {
    PipelineOptions o;
    o.detector.kind = kind;
    auto detector = make_detector(models, o.detector);
    const std::string name(to_string(kind));
    out["detect_ms"][name] = median_ms(n, [&] { (void)detector->detect(rgb); });
    out["faces"][name] = detector->detect(rgb).size();
  }

  PipelineOptions options;
  const auto faces = verifier.detect(rgb, options);
  LandmarkDetector landmarks(models);
  FaceEmbedder embedder(models);
  if (!faces.empty()) {
    out["landmarks_ms_per_face"] = median_ms(n, [&] { (void)landmarks.detect(rgb, faces[0].detection); });
    for (const auto mode : {AlignMode::faceapi, AlignMode::similarity})
      out["align_ms_per_face"][std::string(to_string(mode))] =
          median_ms(n, [&] { (void)extract_chip(rgb, faces[0], mode); });
    const cv::Mat chip = extract_chip(rgb, faces[0], options.align);
    out["embed_ms_per_face"] = median_ms(n, [&] { (void)embedder.embed(chip); });
  }
  // Each net alone on a fixed input, as the reference's "net alone" figures.
  const std::vector<float> in150(150 * 150 * 3, 128.f), in112(112 * 112 * 3, 128.f), in512(512 * 512 * 3, 128.f);
  out["recognition_net_ms"] = median_ms(n, [&] { (void)embedder.run_net(in150); });
  out["landmark_net_ms"] = median_ms(n, [&] { (void)landmarks.run_net(in112); });
  SsdFaceDetector ssd(models);
  out["ssd_net_ms"] = median_ms(n, [&] { (void)ssd.run_net(in512); });

  out["pipeline_ms"] = median_ms(n, [&] { (void)verifier.analyze(rgb, options, /*embed_all_faces=*/true); });
  out["verify_files_ms"] = median_ms(n, [&] { (void)verifier.verify_files(image, second, options); });
  std::cout << out.dump() << '\n';
  return 0;
}
