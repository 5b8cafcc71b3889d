#include "facematch/verifier.hpp"

#include <array>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <limits>
#include <map>
#include <mutex>

#include "engine/executor.hpp"
#include "facematch/embed.hpp"
#include "facematch/error.hpp"
#include "facematch/landmarks.hpp"

namespace facematch {
namespace {

double elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

// Detectors, created on first use per configuration. A detector holds its net's buffers, so two images
// detected at the same time need one set each.
class Detectors {
 public:
  explicit Detectors(std::shared_ptr<const Models> m) : models_(std::move(m)) {}

  FaceDetector& operator()(const DetectorOptions& o) {
    // Requests to the service may choose detector settings, so the cache is bounded: past this many
    // configurations it starts again (a detector is cheap to make; its nets are shared through Models).
    constexpr std::size_t kMaxConfigurations = 8;
    if (by_options_.size() >= kMaxConfigurations && !by_options_.contains(o)) by_options_.clear();
    auto& slot = by_options_[o];
    if (!slot) slot = make_detector(models_, o);
    return *slot;
  }

 private:
  std::shared_ptr<const Models> models_;
  std::map<DetectorOptions, std::unique_ptr<FaceDetector>> by_options_;
};

// One worker's stage objects for one precision: detectors for each of the two images of a verify, and
// the landmark and recognition nets both images share as one batch.
struct Stages {
  explicit Stages(const std::shared_ptr<const Models>& m)
      : models(m), detectors{Detectors(m), Detectors(m)}, landmarks(m), embedder(m) {}

  std::shared_ptr<const Models> models;
  std::array<Detectors, 2> detectors;
  LandmarkDetector landmarks;
  FaceEmbedder embedder;
};

// One inference worker's stage objects, per precision, made on first use.
class Worker {
 public:
  explicit Worker(std::shared_ptr<const Models> models) : models_(std::move(models)) {}

  Stages& stages(Precision resolved) {
    auto& slot = by_precision_[resolved];
    if (!slot) slot = std::make_unique<Stages>(models_->with_precision(resolved));
    return *slot;
  }

 private:
  std::shared_ptr<const Models> models_;
  std::map<Precision, std::unique_ptr<Stages>> by_precision_;
};

// Sets oneDNN's thread count for the calling thread and restores the caller's on the way out.
class ThreadCount {
 public:
  explicit ThreadCount(int threads) : saved_(engine::threads_for_this_thread()) {
    engine::set_threads_for_this_thread(threads);
  }
  ~ThreadCount() { engine::set_threads_for_this_thread(saved_); }
  ThreadCount(const ThreadCount&) = delete;
  ThreadCount& operator=(const ThreadCount&) = delete;

 private:
  int saved_;
};

}  // namespace

namespace {

constexpr std::size_t kFirstInnerLandmark = 17;

// Among the faces `candidate` admits.
template <typename Candidate>
std::size_t choose_among(const std::vector<Face>& faces, FacePolicy policy, Candidate&& candidate) {
  std::size_t count = 0, chosen = faces.size();
  for (std::size_t i = 0; i < faces.size(); ++i) {
    if (!candidate(i)) continue;
    ++count;
    const bool better =
        chosen == faces.size() ||
        (policy == FacePolicy::best ? faces[i].detection.score > faces[chosen].detection.score
                                    : faces[i].detection.box.area() > faces[chosen].detection.box.area());
    if (better) chosen = i;
  }
  if (policy == FacePolicy::error && count > 1)
    throw Error(ErrorCode::too_many_faces,
                "found " + std::to_string(count) + " faces where one was expected (face policy 'error')");
  return chosen;
}

}  // namespace

std::size_t choose_face(const std::vector<Face>& faces, FacePolicy policy) {
  if (faces.empty()) throw Error(ErrorCode::no_face, "no face found in the image");
  return choose_among(faces, policy, [](std::size_t) { return true; });
}

double inner_face_outside_fraction(const Face& face, int width, int height) {
  std::size_t outside = 0;
  for (std::size_t i = kFirstInnerLandmark; i < face.landmarks.size(); ++i) {
    const auto& p = face.landmarks[i];
    outside += p.x < 0 || p.y < 0 || p.x >= width || p.y >= height;
  }
  return static_cast<double>(outside) / static_cast<double>(face.landmarks.size() - kFirstInnerLandmark);
}

std::string_view to_string(FacePolicy policy) {
  switch (policy) {
    case FacePolicy::largest:
      return "largest";
    case FacePolicy::best:
      return "best";
    case FacePolicy::error:
      return "error";
    case FacePolicy::best_match:
      return "best_match";
  }
  return "largest";
}

FacePolicy parse_face_policy(std::string_view name) {
  if (name == "largest") return FacePolicy::largest;
  if (name == "best") return FacePolicy::best;
  if (name == "error") return FacePolicy::error;
  if (name == "best_match") return FacePolicy::best_match;
  throw Error(ErrorCode::invalid_argument,
              "unknown face policy '" + std::string(name) + "' (use largest, best, error or best_match)");
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
    : models_(std::move(models)) {
  if (!models_) throw Error(ErrorCode::model_error, "Verifier needs loaded models");
  const int budget = std::max(1, std::min(engine::available_cores(), engine::threads_for_this_thread()));
  if (max_workers == 0) max_workers = static_cast<std::size_t>(budget);
  threads_per_call_ = std::max(1, budget / static_cast<int>(std::min<std::size_t>(max_workers, 1 << 20)));
  pool_ = std::make_unique<Pool>(models_, max_workers);
}

Verifier::~Verifier() = default;

const std::shared_ptr<const Models>& Verifier::models() const { return models_; }

int Verifier::threads_per_call() const { return threads_per_call_; }

namespace {

// Errors about one image of two say which ("first image: no face found in the image").
template <typename F>
auto with_label(const std::string& label, F&& f) {
  if (label.empty()) return f();
  try {
    return f();
  } catch (const Error& e) {
    throw about_image(e, label);
  }
}

// One image on its way through the pipeline: exactly one of rgb, bytes and path is the source.
struct ImageJob {
  std::string label;
  const cv::Mat* rgb = nullptr;
  std::span<const std::uint8_t> bytes;
  const std::filesystem::path* path = nullptr;

  std::vector<std::uint8_t> file_bytes;  // a path's contents, kept for decoding again at another scale

  cv::Mat image;  // the decoded image, or a header sharing the caller's
  int scale = 1;  // image is 1/scale of the original (reduced decoding)
  std::vector<Detection> detections;
  std::vector<cv::Mat> similarity_chips;  // chip of each face, made for its quality
  bool embed_all = false;                 // every face, not only the chosen one
  ImageAnalysis result;
};

// The side, in pixels of the decoded image, of the smallest face the pipeline will crop a chip from:
// the largest face under the "largest" policy, any face otherwise.
double smallest_face_to_crop(const std::vector<Detection>& detections, FacePolicy policy) {
  double largest = 0, smallest = std::numeric_limits<double>::max();
  for (const auto& d : detections) {
    const double side = std::min(d.box.width, d.box.height);
    largest = std::max(largest, side);
    smallest = std::min(smallest, side);
  }
  return policy == FacePolicy::largest ? largest : smallest;
}

cv::Rect2d scaled(const cv::Rect2d& box, double factor) {
  return {box.x * factor, box.y * factor, box.width * factor, box.height * factor};
}

void decode(ImageJob& job, int scale, const PipelineOptions& options) {
  auto decoded = decode_image_scaled(job.bytes, scale, options.limits);
  job.image = std::move(decoded.rgb);
  job.scale = decoded.scale;
  job.result.width = decoded.original.width;
  job.result.height = decoded.original.height;
}

// A face decoded smaller than the chip would be upsampled into it: decode again, at the largest scale
// that keeps it at least kChipSize pixels (full size if none does), and carry the boxes over.
void sharpen_small_faces(ImageJob& job, const PipelineOptions& options) {
  if (job.scale == 1 || job.detections.empty()) return;
  const double side = smallest_face_to_crop(job.detections, options.face_policy) * job.scale;
  int scale = job.scale;
  while (scale > 1 && side / scale < kChipSize) scale /= 2;
  if (scale == job.scale) return;
  const double factor = static_cast<double>(job.scale) / scale;
  decode(job, scale, options);
  for (auto& d : job.detections) d.box = scaled(d.box, factor);
}

void decode_and_detect(Detectors& detectors, ImageJob& job, const PipelineOptions& options) {
  with_label(job.label, [&] {
    if (job.rgb) {
      if (job.rgb->empty() || job.rgb->type() != CV_8UC3)
        throw Error(ErrorCode::bad_image, "expected an 8-bit 3-channel image");
      job.image = *job.rgb;
      job.result.width = job.image.cols;
      job.result.height = job.image.rows;
    } else {
      const auto t = std::chrono::steady_clock::now();
      if (job.path) {
        job.file_bytes = read_image_bytes(*job.path, options.limits);
        job.bytes = job.file_bytes;
      }
      decode(job, reduced_decode_scale(job.bytes, options.reduced_decode_min_side), options);
      job.result.times.decode_ms = elapsed_ms(t);
    }
    const auto t = std::chrono::steady_clock::now();
    job.detections = detectors(options.detector).detect(job.image);
    job.result.times.detect_ms = elapsed_ms(t);
    const auto redecode = std::chrono::steady_clock::now();
    sharpen_small_faces(job, options);
    job.result.times.decode_ms += elapsed_ms(redecode);
  });
}

// Faces found in a reduced image, moved to the full-size image's pixel coordinates.
void to_full_size_coordinates(ImageJob& job) {
  job.result.decode_scale = job.scale;
  if (job.scale == 1) return;
  const double s = job.scale;
  for (auto& face : job.result.faces) {
    face.detection.box = scaled(face.detection.box, s);
    for (auto& p : face.landmarks) p *= s;
  }
}

// Landmarks for every face of every job, as one batch; the time is shared out by face count.
void locate_landmarks(Stages& stages, std::span<ImageJob* const> jobs) {
  std::vector<FaceInImage> requests;
  for (ImageJob* job : jobs)
    for (const auto& d : job->detections) requests.push_back({&job->image, d});
  if (requests.empty()) return;
  const auto t = std::chrono::steady_clock::now();
  const auto landmarks = stages.landmarks.detect(requests);
  const double ms = elapsed_ms(t);
  std::size_t next = 0;
  for (ImageJob* job : jobs) {
    for (const auto& d : job->detections) job->result.faces.push_back({d, landmarks[next++]});
    job->result.times.landmarks_ms = ms * static_cast<double>(job->detections.size()) / requests.size();
  }
}

// Quality of every face, from the similarity chip its sharpness was calibrated on (quality.hpp).
void assess_quality(ImageJob& job) {
  for (const auto& face : job.result.faces) {
    job.similarity_chips.push_back(extract_chip(job.image, face, AlignMode::similarity));
    auto q = assess_face_quality(job.image, face, job.similarity_chips.back());
    q.interocular_px *= job.scale;
    job.result.quality.push_back(std::move(q));
  }
}

// The policy's face among those a person could compare; Error{low_quality} when every face found is cut
// off by the image's edge or blurred beyond recognition, so that such a face never decides a verdict.
std::size_t choose_comparable_face(ImageJob& job, const PipelineOptions& options) {
  const auto& faces = job.result.faces;
  if (faces.empty()) throw Error(ErrorCode::no_face, "no face found in the image");
  const auto cut_off = [&](std::size_t i) {
    const auto& box = faces[i].detection.box;
    const bool past_the_edge =
        box.x < 0 || box.y < 0 || box.br().x > job.image.cols || box.br().y > job.image.rows;
    return inner_face_outside_fraction(faces[i], job.image.cols, job.image.rows) > kMaxInnerFaceOutside ||
           (past_the_edge && std::abs(job.result.quality.at(i).yaw_deg) > kMaxYawAtTheEdge);
  };
  const auto face_shaped = [&](std::size_t i) {
    const auto& box = faces[i].detection.box;
    return job.result.quality.at(i).interocular_px / job.scale >=
           kMinInterocularToBoxSide * std::max(box.width, box.height);
  };
  const auto comparable = [&](std::size_t i) {
    return face_shaped(i) && !cut_off(i) && job.result.quality.at(i).sharpness >= kExtremeBlurSharpness;
  };
  auto& marks = job.result.comparable;
  marks.clear();
  for (std::size_t i = 0; i < faces.size(); ++i) marks.push_back(comparable(i));
  const FacePolicy picking =
      options.face_policy == FacePolicy::best_match ? FacePolicy::largest : options.face_policy;
  const std::size_t chosen = choose_among(faces, picking, [&](std::size_t i) { return marks[i]; });
  if (chosen == faces.size()) {
    const std::string subject = faces.size() == 1 ? "the face is" : "every face is";
    if (!face_shaped(0))
      throw Error(ErrorCode::no_face,
                  "no face found in the image (what the detector found has no face's "
                  "landmarks: eyes, nose and mouth)");
    throw Error(ErrorCode::low_quality,
                cut_off(0) ? subject +
                                 " cut off by the image's edge (eyes, nose or mouth outside the photo); "
                                 "send a photo that shows the whole face"
                           : subject + " too blurred to compare; send a sharper photo");
  }
  const auto& quality = job.result.quality.at(chosen);
  if (options.require_acceptable_quality && !quality.acceptable())
    throw Error(ErrorCode::low_quality, "the face's quality is too poor (" + quality.reasons_text() +
                                            "); send a sharper, larger, frontal, well-lit photo, or "
                                            "compare without requiring quality");
  return chosen;
}

// Chooses each job's face, aligns the chips and embeds them all as one batch.
void embed_faces(Stages& stages, std::span<ImageJob* const> jobs, const PipelineOptions& options,
                 bool embed_all_faces) {
  std::vector<cv::Mat> chips;
  std::vector<std::size_t> chips_per_job;
  for (ImageJob* job : jobs) {
    auto& r = job->result;
    with_label(job->label, [&] { r.chosen = choose_comparable_face(*job, options); });
    const auto t = std::chrono::steady_clock::now();
    const std::size_t before = chips.size();
    for (std::size_t i = 0; i < r.faces.size(); ++i)
      if (embed_all_faces || job->embed_all || i == r.chosen)
        chips.push_back(options.align == AlignMode::similarity
                            ? job->similarity_chips.at(i)
                            : extract_chip(job->image, r.faces[i], options.align));
    chips_per_job.push_back(chips.size() - before);
    r.times.align_ms = elapsed_ms(t);
  }
  const auto t = std::chrono::steady_clock::now();
  auto embeddings = stages.embedder.embed(chips, options.flip_average);
  const double ms = elapsed_ms(t);
  std::size_t next = 0;
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    auto& r = jobs[j]->result;
    for (std::size_t k = 0; k < chips_per_job[j]; ++k) r.embeddings.push_back(std::move(embeddings[next++]));
    r.times.embed_ms = ms * static_cast<double>(chips_per_job[j]) / static_cast<double>(chips.size());
  }
}

// Decode and detect every job. With two or more threads, the two images of a verify are done at the
// same time, one thread each, by the calling thread's OpenMP team of two: its second thread is the one
// oneDNN's primitives use next, so no thread idles against the work. Measured on 2 cores (README
// "Threads"): one after the other with both threads each was slower, as was a helper thread of our own
// (the team's idle thread spins for a while after every parallel region, taking the helper's core).
void detect_jobs(Worker& worker, std::span<ImageJob* const> jobs, const PipelineOptions& options,
                 Precision precision) {
  auto& detectors = worker.stages(precision).detectors;
  if (jobs.size() != 2 || engine::threads_for_this_thread() < 2) {
    for (ImageJob* job : jobs) decode_and_detect(detectors[0], *job, options);
    return;
  }
  engine::run_concurrently(2, [&](int i) {
    const auto job = static_cast<std::size_t>(i);
    decode_and_detect(detectors[job], *jobs[job], options);
  });
}

void run_jobs(Worker& worker, std::span<ImageJob* const> jobs, const PipelineOptions& options,
              bool embed_all_faces) {
  const Precision precision = resolve_precision(options.precision);
  detect_jobs(worker, jobs, options, precision);
  Stages& stages = worker.stages(precision);
  locate_landmarks(stages, jobs);
  for (ImageJob* job : jobs) assess_quality(*job);
  embed_faces(stages, jobs, options, embed_all_faces);
  const auto nets = stages.models->net_precisions(engine::threads_for_this_thread());
  for (ImageJob* job : jobs) {
    job->result.precision = precision;
    job->result.nets = nets;
    to_full_size_coordinates(*job);
  }
}

// Checked before any image is analysed, so a bad option costs nothing.
// Everything a call does once it holds a worker, with its thread count set.
template <typename F>
auto with_worker(Verifier::Pool& pool, int threads, F&& f) {
  auto lease = pool.acquire();
  ThreadCount count(threads);
  return f(*lease.operator->());
}

}  // namespace

namespace {

ImageAnalysis detect_job(Verifier::Pool& pool, int threads, ImageJob job, const PipelineOptions& options) {
  return with_worker(pool, threads, [&](Worker& worker) {
    ImageJob* const jobs[] = {&job};
    const Precision precision = resolve_precision(options.precision);
    detect_jobs(worker, jobs, options, precision);
    locate_landmarks(worker.stages(precision), jobs);
    assess_quality(job);
    to_full_size_coordinates(job);
    job.result.precision = precision;
    job.result.nets = worker.stages(precision).models->net_precisions(engine::threads_for_this_thread());
    return std::move(job.result);
  });
}

}  // namespace

std::vector<Face> Verifier::detect(const cv::Mat& rgb, const PipelineOptions& options) const {
  ImageJob job;
  job.rgb = &rgb;
  return detect_job(*pool_, threads_per_call_, std::move(job), options).faces;
}

ImageAnalysis Verifier::detect_encoded(std::span<const std::uint8_t> bytes,
                                       const PipelineOptions& options) const {
  ImageJob job;
  job.bytes = bytes;
  return detect_job(*pool_, threads_per_call_, std::move(job), options);
}

ImageAnalysis Verifier::detect_file(const std::filesystem::path& path, const PipelineOptions& options) const {
  ImageJob job;
  job.path = &path;
  return detect_job(*pool_, threads_per_call_, std::move(job), options);
}

namespace {

ImageAnalysis analyze_job(Verifier::Pool& pool, int threads, ImageJob job, const PipelineOptions& options,
                          bool embed_all_faces) {
  return with_worker(pool, threads, [&](Worker& worker) {
    ImageJob* const jobs[] = {&job};
    run_jobs(worker, jobs, options, embed_all_faces);
    return std::move(job.result);
  });
}

Verification verify_jobs(Verifier::Pool& pool, int threads, ImageJob first, ImageJob second,
                         const PipelineOptions& options, double threshold) {
  check_threshold(threshold);
  const auto started = std::chrono::steady_clock::now();
  const bool best_match = options.face_policy == FacePolicy::best_match;
  second.embed_all = best_match;
  with_worker(pool, threads, [&](Worker& worker) {
    ImageJob* const jobs[] = {&first, &second};
    run_jobs(worker, jobs, options, /*embed_all_faces=*/false);
    return 0;
  });
  Verification v;
  v.face_policy = options.face_policy;
  if (best_match) {
    auto& s = second.result;
    for (std::size_t i = 0; i < s.faces.size(); ++i)
      v.second_face_distances.push_back(
          s.comparable.at(i) ? euclidean_distance(first.result.chosen_embedding(), s.embeddings.at(i))
                             : std::numeric_limits<double>::quiet_NaN());
    // The policy's first pick is comparable, so it has a distance; NaN never compares smaller.
    for (std::size_t i = 0; i < s.faces.size(); ++i)
      if (v.second_face_distances[i] < v.second_face_distances[s.chosen]) s.chosen = i;
  }
  v.distance = euclidean_distance(first.result.chosen_embedding(), second.result.chosen_embedding());
  v.threshold = threshold;
  v.verified = is_match(v.distance, threshold);
  v.model = first.result.chosen_embedding().model;
  v.detector = options.detector.kind;
  v.align = options.align;
  v.pipeline = options;
  v.precision = first.result.precision;
  v.first = std::move(first.result);
  v.second = std::move(second.result);
  v.total_ms = elapsed_ms(started);
  return v;
}

// A smooth synthetic image: the detectors find nothing in it, and the warm-up gives the other nets a box.
cv::Mat warm_up_image() {
  cv::Mat rgb(224, 224, CV_8UC3);
  for (int y = 0; y < rgb.rows; ++y)
    for (int x = 0; x < rgb.cols; ++x) rgb.at<cv::Vec3b>(y, x) = cv::Vec3b(x, y, (x + y) / 2);
  return rgb;
}

ImageJob labelled_job(std::string label) {
  ImageJob job;
  job.label = std::move(label);
  return job;
}

}  // namespace

ImageAnalysis Verifier::analyze(const cv::Mat& rgb, const PipelineOptions& options,
                                bool embed_all_faces) const {
  ImageJob job;
  job.rgb = &rgb;
  return analyze_job(*pool_, threads_per_call_, std::move(job), options, embed_all_faces);
}

ImageAnalysis Verifier::analyze_encoded(std::span<const std::uint8_t> bytes, const PipelineOptions& options,
                                        bool embed_all_faces) const {
  ImageJob job;
  job.bytes = bytes;
  return analyze_job(*pool_, threads_per_call_, std::move(job), options, embed_all_faces);
}

ImageAnalysis Verifier::analyze_file(const std::filesystem::path& path, const PipelineOptions& options,
                                     bool embed_all_faces) const {
  ImageJob job;
  job.path = &path;
  return analyze_job(*pool_, threads_per_call_, std::move(job), options, embed_all_faces);
}

// docs/detection-recall.md: 25% per edge was what lifted the under-scored portraits from 0.2-0.48 to 0.99.
constexpr double kRecommendedBorderRetry = 0.25;
// docs/detection-recall.md "Second faces": the cascade's doubt band, 0.3 up to the 0.5 threshold.
constexpr float kRecommendedCascadeDoubt = 0.3f;

void Verifier::warm_up(const PipelineOptions& options) const {
  const cv::Mat rgb = warm_up_image();
  ImageJob job;
  job.rgb = &rgb;
  with_worker(*pool_, threads_per_call_, [&](Worker& worker) {
    ImageJob* const jobs[] = {&job};
    const Precision precision = resolve_precision(options.precision);
    detect_jobs(worker, jobs, options, precision);
    // Only for priming the nets: this box is never reported or compared.
    job.detections = {{cv::Rect2d(0, 0, rgb.cols, rgb.rows), 1.f}};
    Stages& stages = worker.stages(precision);
    locate_landmarks(stages, jobs);
    assess_quality(job);
    // Straight to the net: the face-choosing rules would rightly refuse this smooth, blur-like image.
    (void)stages.embedder.embed(job.similarity_chips, options.flip_average);
    // Every net's precision is chosen now (measured under automatic), not by a request.
    (void)stages.models->prepare_nets();
    return 0;
  });
}

PipelineOptions recommended_pipeline() {
  PipelineOptions o;
  o.detector.kind = DetectorKind::cascade;
  o.detector.retry_low_light = true;
  o.detector.retry_quarter_turns = true;
  o.detector.border_retry_fraction = kRecommendedBorderRetry;
  o.detector.cascade_doubt_score = kRecommendedCascadeDoubt;
  o.flip_average = true;
  o.precision = Precision::automatic;
  o.reduced_decode_min_side = 1024;
  return o;
}

Verification Verifier::verify(const cv::Mat& first_rgb, const cv::Mat& second_rgb,
                              const PipelineOptions& options, double threshold,
                              const ImageNames& names) const {
  auto a = labelled_job(names.first), b = labelled_job(names.second);
  a.rgb = &first_rgb;
  b.rgb = &second_rgb;
  return verify_jobs(*pool_, threads_per_call_, std::move(a), std::move(b), options, threshold);
}

Verification Verifier::verify_files(const std::filesystem::path& first, const std::filesystem::path& second,
                                    const PipelineOptions& options, double threshold) const {
  auto a = labelled_job(first.string()), b = labelled_job(second.string());
  a.path = &first;
  b.path = &second;
  return verify_jobs(*pool_, threads_per_call_, std::move(a), std::move(b), options, threshold);
}

Verification Verifier::verify_encoded(std::span<const std::uint8_t> first,
                                      std::span<const std::uint8_t> second, const PipelineOptions& options,
                                      double threshold, const ImageNames& names) const {
  auto a = labelled_job(names.first), b = labelled_job(names.second);
  a.bytes = first;
  b.bytes = second;
  return verify_jobs(*pool_, threads_per_call_, std::move(a), std::move(b), options, threshold);
}

}  // namespace facematch
