#include "facematch/verifier.hpp"

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "facematch/embed.hpp"
#include "facematch/error.hpp"
#include "facematch/landmarks.hpp"

namespace facematch {
namespace {

double elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

// One thread's stage objects. Detectors are created on first use per configuration.
struct Worker {
  explicit Worker(std::shared_ptr<const Models> m)
      : models(std::move(m)), landmarks(models), embedder(models) {}

  FaceDetector& detector(const DetectorOptions& o) {
    const auto key = std::make_tuple(o.kind, o.min_score, o.max_results, o.tiny_input_size);
    auto& slot = detectors[key];
    if (!slot) slot = make_detector(models, o);
    return *slot;
  }

  std::shared_ptr<const Models> models;
  LandmarkDetector landmarks;
  FaceEmbedder embedder;
  std::map<std::tuple<DetectorKind, float, int, int>, std::unique_ptr<FaceDetector>> detectors;
};

std::size_t choose_face(const std::vector<Face>& faces, FacePolicy policy) {
  if (policy == FacePolicy::error && faces.size() > 1)
    throw Error(ErrorCode::too_many_faces, "found " + std::to_string(faces.size()) +
                                               " faces where one was expected (face policy 'error')");
  std::size_t chosen = 0;
  for (std::size_t i = 1; i < faces.size(); ++i) {
    const bool better = policy == FacePolicy::best
                            ? faces[i].detection.score > faces[chosen].detection.score
                            : faces[i].detection.box.area() > faces[chosen].detection.box.area();
    if (better) chosen = i;
  }
  return chosen;
}

}  // namespace

std::string_view to_string(FacePolicy policy) {
  switch (policy) {
    case FacePolicy::largest:
      return "largest";
    case FacePolicy::best:
      return "best";
    case FacePolicy::error:
      return "error";
  }
  return "largest";
}

FacePolicy parse_face_policy(std::string_view name) {
  if (name == "largest") return FacePolicy::largest;
  if (name == "best") return FacePolicy::best;
  if (name == "error") return FacePolicy::error;
  throw Error(ErrorCode::invalid_argument,
              "unknown face policy '" + std::string(name) + "' (use largest, best or error)");
}

const Embedding& ImageAnalysis::chosen_embedding() const {
  return embeddings.size() == faces.size() ? embeddings.at(chosen) : embeddings.at(0);
}

class Verifier::Pool {
 public:
  Pool(std::shared_ptr<const Models> models, std::size_t max_workers)
      : models_(std::move(models)), max_workers_(max_workers) {}

  // RAII loan of a worker; blocks while max_workers are busy.
  class Lease {
   public:
    Lease(Pool& pool, std::unique_ptr<Worker> w) : pool_(pool), worker_(std::move(w)) {}
    ~Lease() { pool_.give_back(std::move(worker_)); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Worker* operator->() { return worker_.get(); }

   private:
    Pool& pool_;
    std::unique_ptr<Worker> worker_;
  };

  Lease acquire() {
    std::unique_lock lock(mutex_);
    available_.wait(lock, [&] { return !idle_.empty() || created_ < max_workers_; });
    if (!idle_.empty()) {
      auto w = std::move(idle_.back());
      idle_.pop_back();
      return Lease(*this, std::move(w));
    }
    ++created_;
    lock.unlock();
    try {
      return Lease(*this, std::make_unique<Worker>(models_));
    } catch (...) {
      std::lock_guard relock(mutex_);
      --created_;
      available_.notify_one();
      throw;
    }
  }

 private:
  void give_back(std::unique_ptr<Worker> w) {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(w));
    available_.notify_one();
  }

  std::shared_ptr<const Models> models_;
  std::size_t max_workers_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Worker>> idle_;
  std::size_t created_ = 0;
};

Verifier::Verifier(std::shared_ptr<const Models> models, std::size_t max_workers)
    : models_(std::move(models)),
      pool_(std::make_unique<Pool>(
          models_, max_workers ? max_workers : std::max(1u, std::thread::hardware_concurrency()))) {
  if (!models_) throw Error(ErrorCode::model_error, "Verifier needs loaded models");
}

Verifier::~Verifier() = default;

const std::shared_ptr<const Models>& Verifier::models() const { return models_; }

namespace {

std::vector<Face> find_faces(Worker& w, const cv::Mat& rgb, const PipelineOptions& options,
                             StageTimes& times) {
  auto t = std::chrono::steady_clock::now();
  const auto detections = w.detector(options.detector).detect(rgb);
  times.detect_ms += elapsed_ms(t);
  t = std::chrono::steady_clock::now();
  std::vector<Face> faces;
  faces.reserve(detections.size());
  for (const auto& d : detections) faces.push_back({d, w.landmarks.detect(rgb, d)});
  times.landmarks_ms += elapsed_ms(t);
  return faces;
}

void check_rgb(const cv::Mat& rgb) {
  if (rgb.empty() || rgb.type() != CV_8UC3)
    throw Error(ErrorCode::bad_image, "expected an 8-bit 3-channel image");
}

}  // namespace

std::vector<Face> Verifier::detect(const cv::Mat& rgb, const PipelineOptions& options) const {
  check_rgb(rgb);
  auto worker = pool_->acquire();
  StageTimes ignored;
  return find_faces(*worker.operator->(), rgb, options, ignored);
}

ImageAnalysis Verifier::analyze(const cv::Mat& rgb, const PipelineOptions& options,
                                bool embed_all_faces) const {
  check_rgb(rgb);
  auto worker = pool_->acquire();
  Worker& w = *worker.operator->();
  ImageAnalysis result;
  result.width = rgb.cols;
  result.height = rgb.rows;
  result.faces = find_faces(w, rgb, options, result.times);
  if (result.faces.empty() && options.whole_image_if_no_face) {
    const auto t = std::chrono::steady_clock::now();
    const Detection whole{cv::Rect2d(0, 0, rgb.cols, rgb.rows), 0.f};
    result.faces.push_back({whole, w.landmarks.detect(rgb, whole)});
    result.whole_image_face = true;
    result.times.landmarks_ms += elapsed_ms(t);
  }
  if (result.faces.empty()) throw Error(ErrorCode::no_face, "no face found in the image");
  result.chosen = choose_face(result.faces, options.face_policy);
  for (std::size_t i = 0; i < result.faces.size(); ++i) {
    if (!embed_all_faces && i != result.chosen) continue;
    auto t = std::chrono::steady_clock::now();
    const cv::Mat chip = extract_chip(rgb, result.faces[i], options.align);
    result.times.align_ms += elapsed_ms(t);
    t = std::chrono::steady_clock::now();
    result.embeddings.push_back(w.embedder.embed(chip));
    result.times.embed_ms += elapsed_ms(t);
  }
  return result;
}

ImageAnalysis Verifier::analyze_encoded(std::span<const std::uint8_t> bytes, const PipelineOptions& options,
                                        bool embed_all_faces) const {
  const auto t = std::chrono::steady_clock::now();
  const cv::Mat rgb = decode_image(bytes, options.limits);
  const double decode_ms = elapsed_ms(t);
  auto result = analyze(rgb, options, embed_all_faces);
  result.times.decode_ms = decode_ms;
  return result;
}

ImageAnalysis Verifier::analyze_file(const std::filesystem::path& path, const PipelineOptions& options,
                                     bool embed_all_faces) const {
  const auto t = std::chrono::steady_clock::now();
  const cv::Mat rgb = read_image(path, options.limits);
  const double decode_ms = elapsed_ms(t);
  auto result = analyze(rgb, options, embed_all_faces);
  result.times.decode_ms = decode_ms;
  return result;
}

namespace {

// Prefixes errors with which image they concern, so "no face found" says where.
template <typename F>
ImageAnalysis labelled(const char* which, F&& analyze_one) {
  try {
    return analyze_one();
  } catch (const Error& e) {
    throw Error(e.code(), std::string(which) + ": " + e.what());
  }
}

// Checked before any image is analysed, so a bad option costs nothing.
void check_threshold(double threshold) {
  if (!(threshold > 0) || !std::isfinite(threshold))
    throw Error(ErrorCode::invalid_argument, "threshold must be a positive number");
}

Verification compare(ImageAnalysis first, ImageAnalysis second, const PipelineOptions& options,
                     double threshold, std::chrono::steady_clock::time_point started) {
  Verification v;
  v.distance = euclidean_distance(first.chosen_embedding(), second.chosen_embedding());
  v.threshold = threshold;
  v.verified = is_match(v.distance, threshold);
  v.model = first.chosen_embedding().model;
  v.detector = options.detector.kind;
  v.align = options.align;
  v.first = std::move(first);
  v.second = std::move(second);
  v.total_ms = elapsed_ms(started);
  return v;
}

}  // namespace

Verification Verifier::verify(const cv::Mat& first_rgb, const cv::Mat& second_rgb,
                              const PipelineOptions& options, double threshold) const {
  check_threshold(threshold);
  const auto started = std::chrono::steady_clock::now();
  auto a = labelled("first image", [&] { return analyze(first_rgb, options); });
  auto b = labelled("second image", [&] { return analyze(second_rgb, options); });
  return compare(std::move(a), std::move(b), options, threshold, started);
}

Verification Verifier::verify_files(const std::filesystem::path& first, const std::filesystem::path& second,
                                    const PipelineOptions& options, double threshold) const {
  check_threshold(threshold);
  const auto started = std::chrono::steady_clock::now();
  auto a = labelled(first.string().c_str(), [&] { return analyze_file(first, options); });
  auto b = labelled(second.string().c_str(), [&] { return analyze_file(second, options); });
  return compare(std::move(a), std::move(b), options, threshold, started);
}

}  // namespace facematch
