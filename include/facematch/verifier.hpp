// The whole pipeline: decode -> detect -> landmarks -> align -> embed -> compare. A Verifier is safe to
// call from many threads: each call borrows a set of per-thread stage objects from a pool.
//
// Threads. A Verifier divides a thread budget among the calls it runs at once:
//   budget           = min(cores this process may use, omp_get_max_threads() of the constructing thread)
//                      (so OMP_NUM_THREADS caps it)
//   threads per call = max(1, budget / max_workers)
// Each call sets oneDNN's (OpenMP's) thread count for its own thread to that number while it runs and
// restores it after, so max_workers concurrent calls use at most max(budget, max_workers) threads: a
// server with N handler threads should construct one Verifier with max_workers = N. verify() with two or
// more threads per call decodes and detects the two images at the same time, one thread each, on the
// calling thread's OpenMP team (engine::run_concurrently), then runs the landmark and recognition nets
// once for the faces of both images as one batch with all of them. Nets are compiled for the thread
// count they run with (oneDNN fixes it per primitive), so a one-thread call never starts a team.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <opencv2/core.hpp>
#include <span>
#include <string>
#include <vector>

#include "facematch/align.hpp"
#include "facematch/compare.hpp"
#include "facematch/detect.hpp"
#include "facematch/face.hpp"
#include "facematch/image.hpp"
#include "facematch/models.hpp"
#include "facematch/quality.hpp"

namespace facematch {

// Which face of an image is compared when it holds several (all are reported).
enum class FacePolicy {
  largest,  // the largest box (the usual subject of a photo)
  best,     // the highest detector score
  error,    // more than one face is an Error{too_many_faces}
  // verify only: the first image's largest face against every face of the second, which answers with
  // its closest one (AWS CompareFaces, CompreFace): "is this person in that photo?". Elsewhere: largest.
  best_match,
};
std::string_view to_string(FacePolicy policy);
FacePolicy parse_face_policy(std::string_view name);

inline constexpr AlignMode kDefaultAlignMode = AlignMode::similarity;

struct PipelineOptions {
  DetectorOptions detector;
  AlignMode align = kDefaultAlignMode;
  FacePolicy face_policy = FacePolicy::largest;
  DecodeLimits limits;
  // fp32 by default, so the library reproduces face-api exactly; the CLI and the service default to
  // automatic (docs/speed.md "Precision, batching and threads").
  Precision precision = Precision::fp32;
  // Average each descriptor with that of the mirrored chip (docs/accuracy.md).
  bool flip_average = false;
  // JPEGs are decoded at 1/2, 1/4 or 1/8 scale (libjpeg DCT scaling) while their longer side stays at
  // least this many pixels; when the face to embed is then smaller than the chip (kChipSize), the JPEG
  // is decoded again at the scale that keeps it at least that size, so chips are never blurrier than
  // from the full-size image. 0 = always full size. Faces are reported in full-size coordinates
  // either way (docs/speed.md "Reduced decoding").
  int reduced_decode_min_side = 0;
  // A compared face with any quality reason (quality.hpp: too_small, blurred, profile, ...) is an
  // Error{low_quality} naming the image and the reasons, instead of advice in the answer.
  bool require_acceptable_quality = false;
};

// What the CLI and the service run unless told otherwise, and what the built-in operating points were
// fitted for: the cascade detector with the low-light retry (10 of 2,755 calibration photos without a
// face against SSD's 60) and flip averaging (TAR at FAR 1e-3 86.8% against 85.4%), precision auto
// (docs/accuracy.md), and reduced decoding of large JPEGs down to 1024 pixels (the same accuracy, several
// times quicker to decode). PipelineOptions{} stays face-api's own pipeline, which the parity tests check.
PipelineOptions recommended_pipeline();

// The index of the face `policy` picks among detected `faces` (not empty); Error{too_many_faces} under
// FacePolicy::error when there is more than one.
std::size_t choose_face(const std::vector<Face>& faces, FacePolicy policy);

// A face is only compared when a person could compare it: not blurred beyond kExtremeBlurSharpness
// (quality.hpp), and not cut off: when more than this fraction of its
// inner-face landmarks (17-67: brows, eyes, nose, mouth) lie outside the image, it is cut off. Measured
// on ../shared/faces: obama_partial_face.jpg (face at the left edge, a genuine pair in pairs.csv) has
// 8 of 51 outside (16%); obama_1.jpg cut at the nose 21 of 51 (41%), and matched obama_2 at 0.46.
inline constexpr double kMaxInnerFaceOutside = 0.25;
// Nor when its eyes are implausibly close for its box: the landmark net found no face's shape in it.
// Interocular distance / longer box side, measured on the faces of 400 calibration photos and
// ../shared/faces: frontal to three-quarter faces 0.20 and up, the two lowest 0.092 (yaw 76 degrees) and
// 0.109 (yaw 46, a small background face); an 8-pixel checkerboard that SSD scores 0.89: 0.017.
inline constexpr double kMinInterocularToBoxSide = 0.08;
// Nor when its box reaches past the image's edge while it looks turned by more than this (yaw, from the
// landmarks): given half a face, the landmark net fits a turned face into the half it sees, all points
// inside. obama_1.jpg cut at the nose and squashed to 224x224 as the original clients do: box 3 px past
// the edge, yaw 40, and it matched obama_1 (measured); obama_partial_face.jpg: past the edge, yaw -3.
inline constexpr double kMaxYawAtTheEdge = 25;
// The fraction of `face`'s inner-face landmarks outside a width x height image.
double inner_face_outside_fraction(const Face& face, int width, int height);

struct StageTimes {
  double decode_ms = 0, detect_ms = 0, landmarks_ms = 0, align_ms = 0, embed_ms = 0;
};

struct ImageAnalysis {
  int width = 0, height = 0;
  std::vector<Face> faces;            // every face found, in detector order (highest score first)
  std::vector<FaceQuality> quality;   // quality[i] of faces[i]; interocular_px in full-size pixels
  std::size_t chosen = 0;             // index into faces of the face the policy picked
  std::vector<bool> comparable;       // comparable[i]: faces[i] may be compared (kMaxInnerFaceOutside ...)
  std::vector<Embedding> embeddings;  // embeddings[i] for faces[i] when all faces were embedded,
                                      // else one entry for faces[chosen]
  int decode_scale = 1;  // the JPEG was decoded at 1/decode_scale (reduced_decode_min_side); faces are
                         // in full-size coordinates all the same
  Precision precision = Precision::fp32;  // what was asked for (automatic: each net's choice, in nets)
  std::vector<NetPrecision> nets;         // what each net compiled so far runs in, and auto's timings
  StageTimes times;
  const Embedding& chosen_embedding() const;
};

struct Verification {
  bool verified = false;
  double distance = 0;
  double threshold = kDefaultThreshold;
  std::string model;
  DetectorKind detector = DetectorKind::ssd;
  AlignMode align = kDefaultAlignMode;
  Precision precision = Precision::fp32;  // as ImageAnalysis::precision; the nets are first.nets
  ImageAnalysis first, second;
  FacePolicy face_policy = FacePolicy::largest;
  PipelineOptions pipeline;  // every setting the verification ran under (detector, align ... above)
  // Under FacePolicy::best_match: the distance of the first image's face to each face of the second,
  // NaN for a face that cannot be compared; empty under the other policies.
  std::vector<double> second_face_distances;
  double total_ms = 0;
};

// What error messages call the two images of a verify ("img1: no face found in the image").
struct ImageNames {
  std::string first = "first image", second = "second image";
};

class Verifier {
 public:
  // max_workers bounds how many calls run at once (each holds its own activation buffers); 0 = cores.
  // See the top of this file for how threads are shared.
  explicit Verifier(std::shared_ptr<const Models> models, std::size_t max_workers = 0);
  ~Verifier();

  // Faces with landmarks, no embedding. `rgb` is CV_8UC3 RGB.
  std::vector<Face> detect(const cv::Mat& rgb, const PipelineOptions& options) const;
  // The same for an encoded image or a file: faces, size and stage times, nothing embedded.
  ImageAnalysis detect_encoded(std::span<const std::uint8_t> bytes, const PipelineOptions& options) const;
  ImageAnalysis detect_file(const std::filesystem::path& path, const PipelineOptions& options) const;
  // Full analysis of one image; throws Error{no_face} when nothing is found.
  ImageAnalysis analyze(const cv::Mat& rgb, const PipelineOptions& options,
                        bool embed_all_faces = false) const;
  ImageAnalysis analyze_encoded(std::span<const std::uint8_t> bytes, const PipelineOptions& options,
                                bool embed_all_faces = false) const;
  ImageAnalysis analyze_file(const std::filesystem::path& path, const PipelineOptions& options,
                             bool embed_all_faces = false) const;

  Verification verify(const cv::Mat& first_rgb, const cv::Mat& second_rgb, const PipelineOptions& options,
                      double threshold = kDefaultThreshold, const ImageNames& names = ImageNames{}) const;
  Verification verify_files(const std::filesystem::path& first, const std::filesystem::path& second,
                            const PipelineOptions& options, double threshold = kDefaultThreshold) const;
  // Encoded images (JPEG, PNG, ...), decoded like analyze_encoded.
  Verification verify_encoded(std::span<const std::uint8_t> first, std::span<const std::uint8_t> second,
                              const PipelineOptions& options, double threshold = kDefaultThreshold,
                              const ImageNames& names = ImageNames{}) const;

  // Runs every net of `options` once on a synthetic image (no face is needed: the landmark and
  // recognition nets are given a box), so that a server's first request does not pay for creating
  // primitives and buffers. Nothing is returned; an engine failure throws.
  void warm_up(const PipelineOptions& options) const;

  const std::shared_ptr<const Models>& models() const;
  // oneDNN threads each call uses (see the top of this file).
  int threads_per_call() const;

  class Pool;

 private:
  std::shared_ptr<const Models> models_;
  int threads_per_call_ = 1;
  std::unique_ptr<Pool> pool_;
};

}  // namespace facematch
