// Where SSD's bf16 error comes from (docs/speed.md "SSD in bf16"): the SSD net compiled with chosen
// layers kept in fp32 (engine::Conv::keep_fp32), the rest in bf16, against the fp32 net on the photos of
// the first calibration pairs (those the precision gates judge). The landmark and recognition nets run
// in fp32, so every difference comes from SSD's boxes. Not a test. Prints one JSON object per variant:
//
//   precision_study MODELS_DIR CALIBRATION_DIR [PAIRS] [TIMING_ROUNDS]
//
//   box_shift_px: the largest move of an edge of the compared (largest) face's box, in the photo's pixels
//   encoding_error / logit_error: the largest change of a box encoding / face logit over the anchors
//     that score above 0.5 in fp32, per photo
//   distance: the compared face's descriptor (flip averaged) against fp32's; verdicts_changed on the pairs
//   ms: median CPU time of one run of the net alone on one thread, the variants taking turns
#include <algorithm>
#include <cmath>
#include <ctime>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "detect/ssd_decode.hpp"
#include "engine/executor.hpp"
#include "facematch/align.hpp"
#include "facematch/compare.hpp"
#include "facematch/embed.hpp"
#include "facematch/error.hpp"
#include "facematch/evaluate.hpp"
#include "facematch/image.hpp"
#include "facematch/landmarks.hpp"
#include "facematch/verifier.hpp"
#include "models/ssd_mobilenetv1_net.hpp"
#include "models/weights.hpp"

namespace {

using namespace facematch;

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

double median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double largest(const std::vector<double>& v) {
  return v.empty() ? NAN : *std::max_element(v.begin(), v.end());
}

// The op's role in describe_ssd_mobilenetv1, from the description itself.
enum class Role { first_conv, depthwise, pointwise, extra, box_head, class_head };

std::vector<Role> roles(const engine::NetDescription& net) {
  std::vector<Role> out(net.ops().size(), Role::pointwise);
  std::map<engine::ValueId, std::string> outputs;
  for (const auto& o : net.outputs()) outputs[o.value] = o.name;
  // conv_0 and 13 (depthwise, pointwise) blocks form the backbone; the 8 extra layers follow.
  constexpr std::size_t kBackboneOps = 27, kExtraOps = 8;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto& conv = std::get<engine::Conv>(net.ops()[i]);
    const auto name = outputs.find(static_cast<engine::ValueId>(i + 1));
    if (name != outputs.end())
      out[i] = name->second.starts_with("box") ? Role::box_head : Role::class_head;
    else if (i == 0)
      out[i] = Role::first_conv;
    else if (conv.depthwise)
      out[i] = Role::depthwise;
    else if (i >= kBackboneOps && i < kBackboneOps + kExtraOps)
      out[i] = Role::extra;
  }
  return out;
}

// `net` with keep_fp32 set on the ops `keep` selects.
engine::NetDescription with_fp32_layers(const engine::NetDescription& net,
                                        const std::function<bool(std::size_t, Role)>& keep) {
  const auto role = roles(net);
  engine::NetDescription out(net.name(), net.shape(net.input()));
  for (std::size_t i = 0; i < net.ops().size(); ++i) {
    auto conv = std::get<engine::Conv>(net.ops()[i]);
    conv.keep_fp32 = keep(i, role[i]);
    out.add(std::move(conv));
  }
  for (const auto& o : net.outputs()) out.mark_output(o.value, o.name);
  return out;
}

struct Variant {
  Variant(std::string n, std::function<bool(std::size_t, Role)> k) : name(std::move(n)), keep(std::move(k)) {}
  std::string name;
  std::function<bool(std::size_t, Role)> keep;
  std::unique_ptr<engine::NetRunner> runner;
  std::vector<double> box_shift, encoding_error, logit_error, distance, ms;
  std::string worst_distance_image;
  double worst_distance = -1;
  std::map<std::string, std::vector<float>> descriptors;
  int lost = 0;
};

}  // namespace

int main(int argc, char** argv) try {
  if (argc < 3) {
    std::cerr << "usage: precision_study MODELS_DIR CALIBRATION_DIR [PAIRS] [TIMING_ROUNDS]\n";
    return 2;
  }
  const std::filesystem::path root = argv[2];
  const std::size_t pair_count = argc > 3 ? std::stoul(argv[3]) : 60;
  const int rounds = argc > 4 ? std::stoi(argv[4]) : 15;
  engine::set_threads_for_this_thread(1);
  const auto models = Models::load(argv[1]);
  auto pairs = read_pairs_csv(root / "pairs.csv");
  pairs.resize(std::min(pairs.size(), pair_count));
  std::set<std::string> images;
  for (const auto& p : pairs) images.insert(p.first), images.insert(p.second);

  const auto& weights = models->weights(models::kSsdModel);
  const auto& anchors = weights.get(models::kSsdAnchorsTensor, {1, models::kSsdAnchors, 4}).values;
  const auto description = models::describe_ssd_mobilenetv1(weights);
  const auto compile = [&](const engine::NetDescription& d, engine::DataType type) {
    return std::make_unique<engine::NetRunner>(std::make_shared<const engine::CompiledNet>(d, 1, type));
  };
  const auto reference = compile(description, engine::DataType::f32);
  const auto is = [](Role r) { return [r](std::size_t, Role x) { return x == r; }; };
  const auto heads = [](std::size_t, Role r) { return r == Role::box_head || r == Role::class_head; };
  std::vector<Variant> variants;
  variants.emplace_back("bf16", [](std::size_t, Role) { return false; });
  variants.emplace_back("bf16, first conv fp32", is(Role::first_conv));
  variants.emplace_back("bf16, box heads fp32", is(Role::box_head));
  variants.emplace_back("bf16, class heads fp32", is(Role::class_head));
  variants.emplace_back("bf16, heads fp32", heads);
  variants.emplace_back("bf16, first conv + heads fp32",
                        [&](std::size_t i, Role r) { return heads(i, r) || r == Role::first_conv; });
  variants.emplace_back("bf16, extra layers + heads fp32",
                        [&](std::size_t i, Role r) { return heads(i, r) || r == Role::extra; });
  variants.emplace_back("bf16, depthwise fp32", is(Role::depthwise));
  variants.emplace_back("bf16, pointwise 1x1 fp32 (all but depthwise)",
                        [](std::size_t, Role r) { return r != Role::depthwise; });
  // The backbone's first layers (op 2k is block k's pointwise conv): conv_0 and blocks 1..k in fp32.
  for (const std::size_t blocks : {1u, 2u, 3u, 4u, 5u, 6u, 8u})
    variants.emplace_back("bf16, conv_0 + blocks 1-" + std::to_string(blocks) + " fp32",
                          [blocks](std::size_t i, Role) { return i <= 2 * blocks; });
  for (const std::size_t blocks : {10u, 12u, 13u})
    variants.emplace_back("bf16, conv_0 + blocks 1-" + std::to_string(blocks) + " fp32",
                          [blocks](std::size_t i, Role) { return i <= 2 * blocks; });
  variants.emplace_back("bf16, conv_0 + blocks 1-8 + depthwise 9-13 fp32",
                        [](std::size_t i, Role r) { return i <= 16 || (i < 27 && r == Role::depthwise); });
  variants.emplace_back("bf16, blocks 7-13 fp32", [](std::size_t i, Role) { return i > 12 && i < 27; });
  variants.emplace_back("bf16, depthwise of blocks 1-6 fp32",
                        [](std::size_t i, Role r) { return i <= 12 && r == Role::depthwise; });
  variants.emplace_back("bf16, pointwise of conv_0 + blocks 1-6 fp32",
                        [](std::size_t i, Role r) { return i <= 12 && r != Role::depthwise; });
  variants.emplace_back("every layer fp32 (check: equals fp32)", [](std::size_t, Role) { return true; });
  for (auto& v : variants) v.runner = compile(with_fp32_layers(description, v.keep), engine::DataType::bf16);

  LandmarkDetector landmarks(models);
  FaceEmbedder embedder(models);
  const auto describe_face = [&](const cv::Mat& rgb, const std::vector<Detection>& detections,
                                 Detection& chosen) {
    std::vector<Face> faces;
    for (const auto& d : detections) faces.push_back({d, {}});
    chosen = faces[choose_face(faces, FacePolicy::largest)].detection;
    Face face{chosen, landmarks.detect(rgb, chosen)};
    return embedder.embed(extract_chip(rgb, face, AlignMode::similarity), /*flip_average=*/true).values;
  };
  std::map<std::string, std::vector<float>> reference_descriptors;
  int without_face = 0;
  for (const auto& name : images) {
    const cv::Mat rgb = read_image(root / name);
    ssd_net_input(rgb, reference->input());
    reference->run();
    const auto raw = ssd_outputs(*reference);
    const auto found = ssd_detections(raw, anchors, rgb.size(), 0.5f, 100);
    if (found.empty()) {
      ++without_face;
      continue;
    }
    Detection chosen;
    reference_descriptors[name] = describe_face(rgb, found, chosen);
    for (auto& v : variants) {
      ssd_net_input(rgb, v.runner->input());
      v.runner->run();
      const auto other = ssd_outputs(*v.runner);
      double encoding = 0, logit = 0;
      for (std::size_t a = 0; a < static_cast<std::size_t>(models::kSsdAnchors); ++a) {
        if (raw.class_logits[a * 3 + 1] <= 0.f) continue;  // score 0.5 or less
        for (std::size_t k = 0; k < 4; ++k)
          encoding = std::max(
              encoding, double(std::abs(raw.box_encodings[a * 4 + k] - other.box_encodings[a * 4 + k])));
        logit =
            std::max(logit, double(std::abs(raw.class_logits[a * 3 + 1] - other.class_logits[a * 3 + 1])));
      }
      v.encoding_error.push_back(encoding);
      v.logit_error.push_back(logit);
      const auto detections = ssd_detections(other, anchors, rgb.size(), 0.5f, 100);
      if (detections.empty()) {
        ++v.lost;
        continue;
      }
      Detection mine;
      v.descriptors[name] = describe_face(rgb, detections, mine);
      const auto& a = chosen.box;
      const auto& b = mine.box;
      v.box_shift.push_back(std::max({std::abs(a.x - b.x), std::abs(a.y - b.y), std::abs(a.br().x - b.br().x),
                                      std::abs(a.br().y - b.br().y)}));
      v.distance.push_back(euclidean_distance({reference_descriptors[name], ""}, {v.descriptors[name], ""}));
      if (v.distance.back() > v.worst_distance)
        v.worst_distance = v.distance.back(), v.worst_distance_image = name;
    }
  }

  // The nets alone, taking turns so that load from elsewhere hits every variant alike.
  std::vector<double> reference_ms;
  for (int r = 0; r < rounds + 1; ++r) {
    const auto timed = [&](engine::NetRunner& runner) {
      const double start = thread_cpu_ms();
      runner.run();
      return thread_cpu_ms() - start;
    };
    const double ms = timed(*reference);
    if (r > 0) reference_ms.push_back(ms);  // round 0 warms up
    for (auto& v : variants) {
      const double t = timed(*v.runner);
      if (r > 0) v.ms.push_back(t);
    }
  }
  std::cout << nlohmann::json{{"variant", "fp32"},
                              {"images", reference_descriptors.size()},
                              {"without_face", without_face},
                              {"ms", median(reference_ms)}}
                   .dump()
            << "\n";
  for (auto& v : variants) {
    int compared = 0, changed = 0;
    for (const auto& p : pairs) {
      const auto a = reference_descriptors.find(p.first), b = reference_descriptors.find(p.second);
      if (a == reference_descriptors.end() || b == reference_descriptors.end()) continue;
      const auto va = v.descriptors.find(p.first), vb = v.descriptors.find(p.second);
      ++compared;
      if (va == v.descriptors.end() || vb == v.descriptors.end()) {
        ++changed;
        continue;
      }
      changed += is_match(euclidean_distance({a->second, ""}, {b->second, ""}), kDefaultThreshold) !=
                 is_match(euclidean_distance({va->second, ""}, {vb->second, ""}), kDefaultThreshold);
    }
    int fp32_layers = 0;
    const auto role = roles(description);
    for (std::size_t i = 0; i < role.size(); ++i) fp32_layers += v.keep(i, role[i]);
    std::cout << nlohmann::json{{"variant", v.name},
                                {"fp32_layers", fp32_layers},
                                {"faces_lost", v.lost},
                                {"box_shift_px",
                                 {{"median", median(v.box_shift)}, {"max", largest(v.box_shift)}}},
                                {"encoding_error",
                                 {{"median", median(v.encoding_error)}, {"max", largest(v.encoding_error)}}},
                                {"logit_error",
                                 {{"median", median(v.logit_error)}, {"max", largest(v.logit_error)}}},
                                {"distance",
                                 {{"median", median(v.distance)},
                                  {"max", largest(v.distance)},
                                  {"worst", v.worst_distance_image}}},
                                {"verdicts_changed", changed},
                                {"pairs", compared},
                                {"ms", median(v.ms)},
                                {"ms_vs_fp32", median(v.ms) / median(reference_ms)}}
                     .dump()
              << "\n";
  }
  return 0;
} catch (const facematch::Error& e) {
  std::cerr << "precision_study: " << e.what() << "\n";
  return 2;
}
