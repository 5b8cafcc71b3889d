// Issue 7: precision (the bf16 accuracy gate on a calibration subset, and which precision is reported),
// batching (equal to one face at a time) and the verifier's thread rule (parallel equals serial).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <thread>

#include "engine/executor.hpp"
#include "facematch/detect.hpp"
#include "facematch/embed.hpp"
#include "facematch/error.hpp"
#include "facematch/evaluate.hpp"
#include "facematch/landmarks.hpp"
#include "facematch/verifier.hpp"
#include "models/int8_ranges.hpp"
#include "models/recognition_net.hpp"
#include "models/tiny_face_detector_net.hpp"
#include "report/json_report.hpp"
#include "test_support.hpp"

namespace fm = facematch;

namespace {

// The subset the gate runs on: the first pairs of the calibration list (a random sample, see its README).
constexpr std::size_t kGatePairs = 60;

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(double(a[i]) - b[i]));
  return worst;
}

fm::PipelineOptions with_precision(fm::Precision p) {
  fm::PipelineOptions o;
  o.precision = p;
  return o;
}

// The product's pipeline (cascade: tiny, then SSD when unsure) in precision `p`.
fm::PipelineOptions recommended_with_precision(fm::Precision p) {
  fm::PipelineOptions o = fm::recommended_pipeline();
  o.precision = p;
  return o;
}

}  // namespace

TEST(Precision, NamesParse) {
  for (const auto p :
       {fm::Precision::automatic, fm::Precision::fp32, fm::Precision::bf16, fm::Precision::int8})
    EXPECT_EQ(fm::parse_precision(fm::to_string(p)), p);
  try {
    fm::parse_precision("fp16");
    FAIL() << "fp16 must be refused";
  } catch (const fm::Error& e) {
    EXPECT_EQ(e.code(), fm::ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("int8"), std::string::npos)
        << "the error lists the choices: " << e.what();
  }
  // int8 stays what it is where the CPU has VNNI or AMX.
  if (fm::engine::cpu_has_native_int8()) {
    EXPECT_EQ(fm::resolve_precision(fm::Precision::int8), fm::Precision::int8);
  } else {
    EXPECT_THROW(fm::resolve_precision(fm::Precision::int8), fm::Error);
  }
  if (fm::engine::cpu_supports_bf16()) {
    EXPECT_EQ(fm::resolve_precision(fm::Precision::bf16), fm::Precision::bf16);
  } else {
    EXPECT_THROW(fm::resolve_precision(fm::Precision::bf16), fm::Error);
  }
  // auto stays auto: each net's precision is chosen by measurement when it is compiled.
  EXPECT_EQ(fm::resolve_precision(fm::Precision::automatic), fm::Precision::automatic);
  EXPECT_EQ(fm::resolve_precision(fm::Precision::fp32), fm::Precision::fp32);
}

TEST(Precision, ReportedInTheAnswer) {
  const auto sample = fm::testing::testdata_dir() / "rgb" / "sample2.ppm";
  fm::testing::require_file(sample, "run tools/golden/make-inputs.sh (ctest does it)");
  fm::Verifier verifier(fm::testing::shared_models(), 1);
  for (const auto p :
       {fm::Precision::fp32, fm::Precision::bf16, fm::Precision::automatic, fm::Precision::int8}) {
    if (p == fm::Precision::int8 && !fm::engine::cpu_has_native_int8()) continue;
    if (p == fm::Precision::bf16 && !fm::engine::cpu_supports_bf16()) continue;
    const auto v = verifier.verify_files(sample, sample, with_precision(p));
    EXPECT_EQ(v.precision, p);
    EXPECT_EQ(v.first.precision, p);
    const auto json = fm::report::verification_json(v);
    EXPECT_EQ(json.at("precision"), std::string(fm::to_string(p)));
    EXPECT_EQ(json.at("img1").at("precision"), std::string(fm::to_string(p)));
    // Each net that ran says what it ran in: one of auto's candidates for it, or the forced one.
    const auto& nets = json.at("nets");
    for (const char* net : {"face_recognition_model", "face_landmark_68_model"}) {
      ASSERT_TRUE(nets.contains(net)) << nets.dump();
      const auto ran = fm::parse_precision(nets.at(net).at("precision").get<std::string>());
      const auto fixed = fm::net_precision(net, p);  // automatic: left to measurement
      const auto candidates = fm::auto_candidates(net);
      if (fixed == fm::Precision::automatic) {
        EXPECT_NE(std::find(candidates.begin(), candidates.end(), ran), candidates.end()) << net;
        EXPECT_TRUE(nets.at(net).contains("measured_ms")) << nets.dump();
      } else {
        EXPECT_EQ(ran, fixed) << net;
        EXPECT_FALSE(nets.at(net).contains("measured_ms")) << nets.dump();
      }
    }
  }
}

// Distance between the recognition net's descriptors in `precision` and in fp32 on a demo photo's chip.
static double recognition_change_on_demo_chip(fm::Precision precision) {
  const auto models = fm::testing::shared_models();
  const auto chip = fm::testing::testdata_dir() / "chips" / "sample1_face0_chip150.f32";
  fm::testing::require_file(chip, "run tools/golden/make-inputs.sh (ctest does it)");
  const auto input = fm::testing::read_f32(chip);
  fm::FaceEmbedder fp32(models), other(models->with_precision(precision));
  return fm::euclidean_distance({fp32.run_net(input), ""}, {other.run_net(input), ""});
}

// The bf16 net outputs stay close to fp32's on every net (the demo photos' real inputs).
TEST(Precision, Bf16NetsCloseToFp32) {
  if (!fm::engine::cpu_supports_bf16())
    GTEST_SKIP() << "no AVX-512: bf16 is refused on " << fm::engine::cpu_isa_name();
  const auto models = fm::testing::shared_models();
  EXPECT_LT(recognition_change_on_demo_chip(fm::Precision::bf16), 0.03) << "recognition net, one chip";
  EXPECT_EQ(models->with_precision(fm::Precision::bf16)->precision(), fm::Precision::bf16);
  EXPECT_EQ(models->precision(), fm::Precision::fp32);
}

TEST(Precision, OnlySsdStaysFp32) {
  for (const auto p : {fm::Precision::fp32, fm::Precision::bf16}) {
    EXPECT_EQ(fm::net_precision("face_recognition_model", p), p);
    EXPECT_EQ(fm::net_precision("face_landmark_68_model", p), p);
    EXPECT_EQ(fm::net_precision("tiny_face_detector_model@416", p), p);
    EXPECT_EQ(fm::net_precision("ssd_mobilenetv1_model@512", p), fm::Precision::fp32);
  }
  // int8: the recognition net (the one that passed its gate); the others as auto, which measures where it
  // has a choice (native bf16) and runs fp32 where it has none.
  const auto automatic = fm::engine::cpu_has_native_bf16() ? fm::Precision::automatic : fm::Precision::fp32;
  EXPECT_EQ(fm::net_precision("face_landmark_68_model", fm::Precision::automatic), automatic);
  EXPECT_EQ(fm::net_precision("ssd_mobilenetv1_model@512", fm::Precision::automatic), fm::Precision::fp32);
  EXPECT_EQ(fm::net_precision("face_recognition_model", fm::Precision::int8), fm::Precision::int8);
  // The landmark net and the tiny detector have int8 ranges but failed its gate (docs/speed.md "int8").
  EXPECT_TRUE(fm::models::has_builtin_int8_ranges("face_landmark_68_model"));
  EXPECT_TRUE(fm::models::has_builtin_int8_ranges("tiny_face_detector_model@416"));
  EXPECT_EQ(fm::net_precision("face_landmark_68_model", fm::Precision::int8), automatic);
  EXPECT_EQ(fm::net_precision("tiny_face_detector_model@416", fm::Precision::int8), automatic);
  EXPECT_EQ(fm::net_precision("ssd_mobilenetv1_model@512", fm::Precision::int8), fm::Precision::fp32);
}

// The int8 recognition net on a real chip: its descriptor stays close to fp32's, and its convolutions
// really run on oneDNN's int8 kernels (8-bit sources), not in float.
TEST(Precision, Int8NetCloseToFp32) {
  if (!fm::engine::cpu_has_native_int8())
    GTEST_SKIP() << "no VNNI/AMX: int8 is refused on " << fm::engine::cpu_isa_name();
  const auto models = fm::testing::shared_models();
  const double change = recognition_change_on_demo_chip(fm::Precision::int8);
  EXPECT_LT(change, 0.04) << "recognition net, one chip";
  EXPECT_GT(change, 0.0) << "int8 gave fp32's descriptor bit for bit: it did not run in int8";

  auto description = fm::models::describe_recognition_net(models->weights(fm::models::kRecognitionModel));
  const fm::engine::CompiledNet net(description, 1, fm::engine::DataType::int8,
                                    fm::models::builtin_int8_ranges(description));
  int quantized = 0, int8_kernels = 0;
  for (const auto& op : description.ops())
    if (const auto* conv = std::get_if<fm::engine::Conv>(&op)) quantized += !conv->float_in_int8;
  for (const auto& name : net.implementations())
    int8_kernels += name.find("vnni") != std::string::npos || name.find("amx") != std::string::npos;
  EXPECT_EQ(quantized, 22) << "29 convolutions, the first stage's 7 in float";
  // Every AVX-512 level above the plain one has VNNI (bf16 and AMX CPUs included).
  const auto isa = fm::engine::cpu_isa_name();
  if (isa.starts_with("avx512_core_")) {
    EXPECT_GE(int8_kernels, quantized)
        << "the quantized convolutions should use VNNI/AMX int8 kernels on " << isa;
  }
  // Without ranges int8 cannot be compiled.
  EXPECT_THROW(fm::engine::CompiledNet(description, 1, fm::engine::DataType::int8), fm::Error);
}

// The tiny detector in bf16 finds the same faces in the same places.
TEST(Precision, TinyDetectorInBf16FindsTheSameBoxes) {
  if (!fm::engine::cpu_supports_bf16())
    GTEST_SKIP() << "no AVX-512: bf16 is refused on " << fm::engine::cpu_isa_name();
  const auto models = fm::testing::shared_models();
  fm::TinyFaceDetector fp32(models), bf16(models->with_precision(fm::Precision::bf16));
  for (const char* name : {"obama_1.jpg", "multi_four_people.jpg", "kit_harington_2.jpg"}) {
    SCOPED_TRACE(name);
    const auto path = fm::testing::shared_dir() / "faces" / name;
    fm::testing::require_file(path, "../shared/faces");
    const cv::Mat rgb = fm::read_image(path);
    const auto a = fp32.detect(rgb), b = bf16.detect(rgb);
    ASSERT_FALSE(a.empty());
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      const auto& x = a[i].box;
      const auto& y = b[i].box;
      EXPECT_GT((x & y).area() / (x | y).area(), 0.9) << "face " << i;
      EXPECT_NEAR(a[i].score, b[i].score, 0.05) << "face " << i;
    }
  }
}

// The gate of docs/speed.md "Precision, batching and threads" on a subset small enough for CI: every image of
// the first kGatePairs calibration pairs through the product's whole pipeline (cascade detector, flip
// averaging) in fp32 and in `precision`. bf16: the tiny detector, landmark and recognition nets change
// precision, SSD stays fp32. int8: the recognition net in int8 (calibrated on photos after these pairs), the
// tiny detector and landmark nets as auto chooses for them (bf16 where it measures faster), SSD in fp32.
static void precision_gate(fm::Precision precision) {
  const std::string name(fm::to_string(precision));
  const auto root = fm::testing::shared_dir() / "calibration";
  fm::testing::require_file(root / "pairs.csv", "the shared calibration set (../shared/calibration)");
  auto pairs = fm::read_pairs_csv(root / "pairs.csv");
  pairs.resize(std::min(pairs.size(), kGatePairs));
  std::map<std::string, std::pair<std::vector<float>, std::vector<float>>> descriptors;  // fp32, precision
  for (const auto& p : pairs) descriptors[p.first], descriptors[p.second];

  fm::Verifier verifier(fm::testing::shared_models(), 1);
  std::vector<double> distances;
  std::size_t no_face = 0;
  for (auto& [image, d] : descriptors) {
    try {
      d.first = verifier.analyze_file(root / image, recommended_with_precision(fm::Precision::fp32))
                    .chosen_embedding()
                    .values;
      d.second = verifier.analyze_file(root / image, recommended_with_precision(precision))
                     .chosen_embedding()
                     .values;
      distances.push_back(fm::euclidean_distance({d.first, ""}, {d.second, ""}));
    } catch (const fm::Error& e) {
      if (e.code() != fm::ErrorCode::no_face) throw;
      ++no_face;  // must then fail in both precisions
      d = {};
    }
  }
  ASSERT_GE(distances.size(), descriptors.size() * 9 / 10) << no_face << " images without a face";
  std::sort(distances.begin(), distances.end());
  const double median = distances[distances.size() / 2], worst = distances.back();
  std::size_t compared = 0, agree = 0;
  for (const auto& p : pairs) {
    const auto& a = descriptors[p.first];
    const auto& b = descriptors[p.second];
    if (a.first.empty() || b.first.empty()) continue;
    ++compared;
    const bool fp32_match =
        fm::is_match(fm::euclidean_distance({a.first, ""}, {b.first, ""}), fm::kDefaultThreshold);
    const bool other_match =
        fm::is_match(fm::euclidean_distance({a.second, ""}, {b.second, ""}), fm::kDefaultThreshold);
    agree += fp32_match == other_match;
  }
  ::testing::Test::RecordProperty("images", static_cast<int>(distances.size()));
  ::testing::Test::RecordProperty("median_distance_x1e4", static_cast<int>(median * 1e4));
  std::cout << distances.size() << " images: " << name << " vs fp32 descriptor distance median " << median
            << ", max " << worst << "; verdicts agree on " << agree << " of " << compared << " pairs\n";
  EXPECT_LT(median, 0.02);
  // A box moved by a tenth of a pixel can move face-api's landmark crop (whole pixels) by one, which on a
  // small face moves the descriptor more than bf16 rounding does: 0.128 measured on a 106-pixel face
  // (celeba/7424/090440.jpg) with the tiny detector in bf16, 0.031 without.
  EXPECT_LT(worst, 0.2) << "a face whose " << name << " descriptor moved far";
  EXPECT_GE(agree + 1, compared) << name << " flips more than one verdict of " << compared;
}

TEST(Precision, Bf16GateOnCalibrationSubset) {
  if (!fm::engine::cpu_supports_bf16())
    GTEST_SKIP() << "no AVX-512: bf16 is refused on " << fm::engine::cpu_isa_name();
  precision_gate(fm::Precision::bf16);
}
TEST(Precision, Int8GateOnCalibrationSubset) {
  if (!fm::engine::cpu_has_native_int8())
    GTEST_SKIP() << "no VNNI/AMX: int8 is refused on " << fm::engine::cpu_isa_name();
  precision_gate(fm::Precision::int8);
}

// All faces of an image through the nets as one batch give what one face at a time gives.
TEST(Batching, BatchEqualsOneByOne) {
  const auto models = fm::testing::shared_models();
  const auto sample = fm::testing::testdata_dir() / "rgb" / "sample1.ppm";
  fm::testing::require_file(sample, "run tools/golden/make-inputs.sh (ctest does it)");
  cv::Mat rgb = cv::imread(sample.string(), cv::IMREAD_COLOR);
  cv::cvtColor(rgb, rgb, cv::COLOR_BGR2RGB);
  fm::Verifier verifier(models, 1);
  const auto faces = verifier.detect(rgb, {});
  ASSERT_GE(faces.size(), 2u);

  fm::LandmarkDetector landmarks(models);
  std::vector<fm::FaceInImage> requests;
  for (const auto& f : faces) requests.push_back({&rgb, f.detection});
  const auto batched = landmarks.detect(requests);
  ASSERT_EQ(batched.size(), faces.size());
  std::vector<cv::Mat> chips;
  for (std::size_t i = 0; i < faces.size(); ++i) {
    const auto single = landmarks.detect(rgb, faces[i].detection);
    for (std::size_t k = 0; k < single.size(); ++k) {
      EXPECT_NEAR(batched[i][k].x, single[k].x, 1e-3) << "face " << i << " point " << k;
      EXPECT_NEAR(batched[i][k].y, single[k].y, 1e-3) << "face " << i << " point " << k;
    }
    chips.push_back(fm::extract_chip(rgb, faces[i], fm::AlignMode::similarity));
  }
  fm::FaceEmbedder embedder(models);
  const auto embeddings = embedder.embed(chips);
  const auto flipped = embedder.embed(chips, /*flip_average=*/true);
  ASSERT_EQ(embeddings.size(), chips.size());
  for (std::size_t i = 0; i < chips.size(); ++i) {
    EXPECT_LT(max_abs_diff(embeddings[i].values, embedder.embed(chips[i]).values), 1e-5) << "face " << i;
    // Flip averaging: the mean of the chip's and its mirror's descriptors.
    cv::Mat mirrored;
    cv::flip(chips[i], mirrored, 1);
    const auto m = embedder.embed(mirrored).values;
    std::vector<float> mean(m.size());
    for (std::size_t k = 0; k < m.size(); ++k) mean[k] = (embeddings[i].values[k] + m[k]) / 2;
    EXPECT_LT(max_abs_diff(flipped[i].values, mean), 1e-5) << "face " << i;
  }
}

// verify() on two threads (images detected in parallel, nets batched) equals verify() on one.
TEST(Threads, ParallelVerifyEqualsSerial) {
  const auto a = fm::testing::testdata_dir() / "rgb" / "sample2.ppm";
  const auto b = fm::testing::testdata_dir() / "rgb" / "sample3.ppm";
  fm::testing::require_file(a, "run tools/golden/make-inputs.sh (ctest does it)");
  const auto models = fm::testing::shared_models();
  fm::PipelineOptions options;
  options.face_policy = fm::FacePolicy::largest;
  fm::engine::set_threads_for_this_thread(1);
  fm::Verifier serial(models, 1);
  EXPECT_EQ(serial.threads_per_call(), 1);
  const auto expected = serial.verify_files(a, b, options);

  fm::engine::set_threads_for_this_thread(2);
  fm::Verifier parallel(models, 1);
  fm::engine::set_threads_for_this_thread(1);
  EXPECT_EQ(parallel.threads_per_call(), std::min(2, fm::engine::available_cores()));
  for (int run = 0; run < 3; ++run) {
    const auto got = parallel.verify_files(a, b, options);
    EXPECT_NEAR(got.distance, expected.distance, 1e-5);
    ASSERT_EQ(got.first.faces.size(), expected.first.faces.size());
    ASSERT_EQ(got.second.faces.size(), expected.second.faces.size());
    EXPECT_EQ(got.second.chosen, expected.second.chosen);
    EXPECT_LT(max_abs_diff(got.second.chosen_embedding().values, expected.second.chosen_embedding().values),
              1e-5);
  }
  // The caller's own thread count is left as it was.
  EXPECT_EQ(fm::engine::threads_for_this_thread(), 1);

  // Errors still say which image.
  try {
    parallel.verify_files(a, fm::testing::testdata_dir() / "missing.ppm", options);
    FAIL() << "a missing file must fail";
  } catch (const fm::Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.ppm"), std::string::npos) << e.what();
  }
}

// N workers share the budget: workers x threads per call never exceeds the cores (or 1 per worker).
TEST(Threads, WorkersShareTheCores) {
  const auto models = fm::testing::shared_models();
  const int saved = fm::engine::threads_for_this_thread();
  fm::engine::set_threads_for_this_thread(64);
  const int cores = fm::engine::available_cores();
  for (std::size_t workers : {1u, 2u, 3u, 4u, 16u}) {
    fm::Verifier v(models, workers);
    EXPECT_EQ(v.threads_per_call(), std::max(1, cores / static_cast<int>(workers))) << workers << " workers";
  }
  fm::engine::set_threads_for_this_thread(saved);
}

namespace {

std::size_t threads_in_process() {
  return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator("/proc/self/task"),
                                                std::filesystem::directory_iterator()));
}

}  // namespace

// oneDNN fixes a primitive's thread count when it is created: a net compiled under a 2-thread budget and
// run by a 1-thread worker would start a team of 2 and oversubscribe the cores. Nets are compiled per
// thread count, so a worker that runs with one thread after another ran with two starts no thread.
TEST(Threads, OneThreadWorkerStartsNoThreadAfterATwoThreadRun) {
  const auto a = fm::testing::testdata_dir() / "rgb" / "sample2.ppm";
  const auto b = fm::testing::testdata_dir() / "rgb" / "sample3.ppm";
  fm::testing::require_file(a, "run tools/golden/make-inputs.sh (ctest does it)");
  const auto models = fm::testing::shared_models();
  auto options = fm::recommended_pipeline();
  // auto measures each thread count apart and may choose another precision for each: this test is
  // about threads, so both runs use one precision.
  options.precision = fm::Precision::fp32;
  fm::engine::set_threads_for_this_thread(2);
  fm::Verifier two(models, 1);
  const auto expected = two.verify_files(a, b, options);
  fm::engine::set_threads_for_this_thread(1);

  std::size_t before = 0, after = 0;
  double distance = 0;
  std::thread worker([&] {
    fm::engine::set_threads_for_this_thread(1);
    fm::Verifier one(models, 1);
    ASSERT_EQ(one.threads_per_call(), 1);
    before = threads_in_process();
    distance = one.verify_files(a, b, options).distance;
    after = threads_in_process();
  });
  worker.join();
  EXPECT_EQ(after, before) << "a 1-thread verify started threads";
  EXPECT_NEAR(distance, expected.distance, 1e-5);
}

// A compiled net refuses to run under another thread count than it was made for, with a message.
TEST(Threads, CompiledNetRunsOnlyWithItsThreadCount) {
  const auto models = fm::testing::shared_models();
  fm::engine::set_threads_for_this_thread(2);
  fm::TinyFaceDetector detector(models);  // compiles its net for 2 threads
  const std::vector<float> input(416 * 416 * 3, 128.f);
  const auto at_two = detector.run_net(input);
  // The stage picks (compiles) the net for the count in effect, and the answer does not change.
  fm::engine::set_threads_for_this_thread(1);
  const auto at_one = detector.run_net(input);
  EXPECT_LT(max_abs_diff(at_one, at_two), 1e-4);

  auto net = models->compiled("tiny_face_detector_model@416", 1, [&] {
    return fm::models::describe_tiny_face_detector(models->weights(fm::models::kTinyFaceDetectorModel), 416);
  });
  fm::engine::set_threads_for_this_thread(2);
  fm::engine::NetRunner runner(net);
  try {
    runner.run();
    FAIL() << "a net compiled for 1 thread must not run where 2 are set";
  } catch (const fm::Error& e) {
    EXPECT_NE(std::string(e.what()).find("compiled for 1 threads"), std::string::npos) << e.what();
  }
  fm::engine::set_threads_for_this_thread(1);
}

// run_concurrently runs every task once, each with one thread for oneDNN, and rethrows a task's error.
TEST(Threads, RunConcurrentlyRunsEveryTaskWithOneThread) {
  fm::engine::set_threads_for_this_thread(2);
  std::vector<int> seen(2, 0), threads(2, 0);
  fm::engine::run_concurrently(2, [&](int i) {
    ++seen[static_cast<std::size_t>(i)];
    threads[static_cast<std::size_t>(i)] = fm::engine::threads_for_this_thread();
  });
  EXPECT_EQ(seen, (std::vector<int>{1, 1}));
  EXPECT_EQ(threads, (std::vector<int>{1, 1}));
  EXPECT_EQ(fm::engine::threads_for_this_thread(), 2);  // the caller's count is untouched

  std::atomic<int> ran{0};
  EXPECT_THROW(fm::engine::run_concurrently(2,
                                            [&](int i) {
                                              ++ran;
                                              if (i == 1) throw fm::Error(fm::ErrorCode::bad_image, "second");
                                            }),
               fm::Error);
  EXPECT_EQ(ran.load(), 2);  // the other task still ran to its end
  fm::engine::set_threads_for_this_thread(1);
}
