// The face gallery (issue 13): enrolled people ("subjects") and their face descriptors, kept in a
// database, searched in memory. 1:1 against an enrolled subject (verify) and 1:N among all of them
// (identify), usable without the server.
//
// Two layers:
//   GalleryStore  the storage back end: SQLite (one file, embedded) or PostgreSQL (shared by several
//                 replicas). It stores records, never photos, and numbers every change with a
//                 monotonically increasing sequence so that in-memory indexes can follow it.
//   Gallery       a store plus the face pipeline's results plus a faiss index that follows the store's
//                 change sequence on every search, so enrolments and deletions made by another process
//                 (another `facematch serve` replica, the CLI) are seen.
//
// What is stored per face: the descriptor (floats) with its model id, the face box and detector score,
// the quality measures and reasons, the enrolment time and an optional client label. Never the photo.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "facematch/face.hpp"
#include "facematch/operating_point.hpp"
#include "facematch/quality.hpp"
#include "facematch/verifier.hpp"

namespace facematch {

// ---------------------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------------------

using FaceId = std::int64_t;     // > 0, assigned by the store, never reused
using ChangeSeq = std::int64_t;  // 0 = nothing ever written

// A face box in the pixels of the enrolled image (full-size coordinates), with the detector's score.
struct FaceBox {
  double x = 0, y = 0, width = 0, height = 0;
  float score = 0.f;
};

struct FaceRecord {
  FaceId id = 0;         // set by GalleryStore::add_face
  std::string subject;   // valid_subject_name()
  Embedding descriptor;  // values and model id (Embedding::model; only the same model is comparable)
  FaceBox box;
  FaceQuality quality;               // the measures and reasons the pipeline gave the enrolled face
  std::int64_t enrolled_at_ms = 0;   // Unix time in milliseconds (UTC)
  std::optional<std::string> label;  // the client's, stored verbatim (valid_label())
  ChangeSeq seq = 0;                 // set by the store: the change that wrote it
};

struct SubjectSummary {
  std::string name;
  std::size_t faces = 0;
  std::int64_t created_at_ms = 0;  // its first enrolment
};

struct SubjectRecord {
  SubjectSummary summary;
  std::vector<FaceRecord> faces;  // oldest first
};

// One page of subjects in name order (byte order): pass `next_after` as `after` for the next page.
struct SubjectPage {
  std::vector<SubjectSummary> subjects;
  std::optional<std::string> next_after;  // empty on the last page
  std::size_t total_subjects = 0;
};

// What changed after a sequence number, read in one snapshot.
struct ChangeSet {
  ChangeSeq seq = 0;              // the store's sequence in that snapshot: the next `since`
  std::vector<FaceRecord> added;  // faces written after `since` and still present
  std::vector<FaceId> removed;    // faces deleted after `since` (ids only: deleted rows are gone)
};

// ---------------------------------------------------------------------------------------------------
// Storage back end
// ---------------------------------------------------------------------------------------------------

// Every method is safe to call from several threads at once and is atomic: a write either commits whole
// or not at all, also when the process is killed during it. Each committed write (add_face,
// delete_subject, delete_face that removed something) increments the change sequence by at least one;
// sequences commit in order, so changes_since(s) never misses a change below its returned seq.
// Failures are facematch::Error: ErrorCode::unavailable when the database cannot be used now (corrupt,
// read-only, server down, a newer or foreign schema), with a message that says what to do; a store
// tries to reconnect on the next call, so a database that comes back is used without a restart.
class GalleryStore {
 public:
  virtual ~GalleryStore() = default;

  // "sqlite" or "postgresql".
  virtual std::string kind() const = 0;
  // The location for messages and logs, without any password.
  virtual std::string describe() const = 0;

  // Stores `face` (its id and seq are ignored) in one transaction, creating its subject when new
  // (the SQLite file and schema are created by the first enrolment). Returns the record as stored,
  // with id and seq set.
  virtual FaceRecord add_face(const FaceRecord& face) = 0;

  // Subjects with names after `after` (byte order), at most `limit` (>= 1).
  virtual SubjectPage list_subjects(std::string_view after, std::size_t limit) = 0;
  // The subject and its faces, or nothing when it is not enrolled.
  virtual std::optional<SubjectRecord> get_subject(std::string_view subject) = 0;
  // Erases the subject and every row of its faces in one transaction (SQLite with secure_delete, so
  // the bytes are overwritten). Returns how many faces were deleted; 0 when the subject was unknown.
  virtual std::size_t delete_subject(std::string_view subject) = 0;
  // Erases one face of `subject`; the subject goes with its last face. False when there is no such
  // face of that subject.
  virtual bool delete_face(std::string_view subject, FaceId face) = 0;

  // The latest committed change (cheap: called before every search).
  virtual ChangeSeq current_seq() = 0;
  // Every face, with the sequence of that snapshot.
  virtual ChangeSet load_all() = 0;
  // Faces added and removed after `since` (a replica's catch-up).
  virtual ChangeSet changes_since(ChangeSeq since) = 0;
  // Returns as soon as current_seq() > known, or after `timeout`; returns current_seq() either way.
  // (SQLite polls; PostgreSQL can LISTEN.)
  virtual ChangeSeq wait_for_change(ChangeSeq known, std::chrono::milliseconds timeout) = 0;
};

// The gallery file in the working directory when neither --gallery nor FACEMATCH_GALLERY is given.
inline constexpr const char* kDefaultGalleryLocation = "facematch-gallery.sqlite";

// True for "postgresql://..." and "postgres://..." (libpq connection URIs).
bool is_postgres_location(std::string_view location);
// PostgreSQL for a connection URI (is_postgres_location), else the SQLite file at that path. Opening
// never creates anything and never fails for a file that is missing, unreadable or corrupt: those
// errors come from the calls that need the database (Error{unavailable}), so a service can start and
// answer everything else. Error{invalid_argument} for an empty location.
std::unique_ptr<GalleryStore> open_gallery_store(const std::string& location);
std::unique_ptr<GalleryStore> open_sqlite_store(const std::filesystem::path& path);

// Subject names: 1 to kMaxSubjectNameLength characters of A-Z a-z 0-9 and "_-.@", not starting
// with '.'. They go into URL paths and file-system-like listings unescaped, so nothing else is allowed.
inline constexpr std::size_t kMaxSubjectNameLength = 128;
bool valid_subject_name(std::string_view name);
// Labels: at most kMaxLabelBytes bytes of valid UTF-8 without NUL or other C0 control characters
// except tab; stored and returned verbatim (quotes, SQL, markup included).
inline constexpr std::size_t kMaxLabelBytes = 1024;
bool valid_label(std::string_view label);
// Error{invalid_argument} saying what is allowed.
void check_subject_name(std::string_view name);
void check_label(std::string_view label);

// Serialisation shared by the back ends, so both store the same bytes.
// Descriptor values as little-endian IEEE float32, 4 bytes each.
std::string descriptor_to_blob(std::span<const float> values);
// Error{unavailable} when the size is not a multiple of 4 (a damaged row).
std::vector<float> descriptor_from_blob(std::string_view blob);
// The FaceQuality as compact JSON text (quality.hpp's to_json) and back.
std::string quality_to_text(const FaceQuality& quality);
FaceQuality quality_from_text(std::string_view text);

// ---------------------------------------------------------------------------------------------------
// Gallery
// ---------------------------------------------------------------------------------------------------

// 1:N decisions default to a stricter point than 1:1 (far1e-3): a search among N faces is N
// comparisons, so its false-match rate is about N x the per-comparison FAR.
inline constexpr const char* kDefaultIdentifyOperatingPoint = "far1e-4";

// Where exact search (a scan of every face) stops being small beside the face pipeline: about 30 ms per
// search at 100k faces on the shared 2-core machine, against 1 s at 1M (docs/gallery-search.md).
inline constexpr std::size_t kDefaultApproximateSearchAboveFaces = 100'000;

struct GalleryOptions {
  // Enrolment, identify and verify analyse photos with this pipeline. Under FacePolicy::error several
  // faces are refused; under every other policy the largest face is enrolled or searched.
  PipelineOptions pipeline = recommended_pipeline();
  // Enrolment refuses a face with any quality reason (Error{low_quality}); a gallery face is compared
  // with every later probe, so a poor one costs more than a poor probe.
  bool enrol_requires_quality = true;
  // 1:1 threshold of verify_subject when the call gives none.
  double verify_threshold = kDefaultThreshold;
  // The built-in or file operating point identify uses when the call names none (resolve_operating_point).
  std::string identify_operating_point = kDefaultIdentifyOperatingPoint;
  // Above this many faces the index also keeps an approximate graph (faiss IndexHNSWFlat) and finds the
  // nearest faces in it instead of scanning every face: the scan grows with the gallery (0.7 ms at 10k
  // faces, about 30 ms at 100k and 1 s at 1M once the descriptors no longer fit in the cache) while the
  // graph answers in under a millisecond with the same nearest faces for real probes
  // (docs/gallery-search.md). The graph costs memory (about 1.6 x the descriptors again) and building
  // time (minutes at 100k faces on a busy 2-core machine, paid when the size is crossed or the gallery is
  // loaded, with searches waiting). Candidates are always ranked by their exact distance. 0: always exact.
  std::size_t approximate_search_above_faces = kDefaultApproximateSearchAboveFaces;
  // The graph's search beam (faiss efSearch; at least the faces a search asks for).
  int approximate_search_beam = 64;
};

struct EnrolResult {
  FaceRecord face;         // as stored (id, seq, box, quality, model)
  ImageAnalysis analysis;  // the photo's analysis (every face found)
};

// Per-call settings of an enrolment; unset fields keep the GalleryOptions.
struct EnrolOptions {
  std::optional<std::string> label;
  std::optional<FacePolicy> face_policy;  // FacePolicy::error refuses a photo with several faces
  std::optional<bool> require_quality;    // GalleryOptions::enrol_requires_quality
};

struct IdentifyOptions {
  std::size_t top_k = 5;  // candidates (subjects) returned, >= 1
  // Either a threshold or an operating point; neither: GalleryOptions::identify_operating_point.
  std::optional<double> threshold;
  std::optional<std::string> operating_point;
};

struct Candidate {
  std::string subject;
  FaceId face_id = 0;  // the subject's closest face
  std::optional<std::string> label;
  double distance = 0;    // euclidean, as verify computes it
  double similarity = 0;  // similarity_from_distance(distance, threshold)
};

struct Identification {
  std::vector<Candidate> candidates;      // one per subject, closest first, at most top_k
  std::optional<std::string> identified;  // candidates[0].subject when its distance < threshold
  double threshold = 0;
  std::string operating_point;         // its name, or "custom" for a threshold given by the call
  std::string operating_point_origin;  // "built-in", a file, or "request"
  std::size_t gallery_size = 0;        // subjects searched
  std::size_t gallery_faces = 0;       // faces searched
  ImageAnalysis probe;
};

struct SubjectVerification {
  std::string subject;
  bool verified = false;
  double distance = 0;  // to the subject's closest face
  double threshold = 0;
  double similarity = 0;
  FaceId face_id = 0;  // that face
  std::size_t faces_compared = 0;
  ImageAnalysis probe;
};

// The store's rows in memory: exact L2 search (faiss IndexFlatL2 behind an id map), with an HNSW graph in
// front of it above GalleryOptions::approximate_search_above_faces. Thread-safe: many
// searches run at once; a write or a catch-up takes the index exclusively for its update only.
// Every search first compares the store's current_seq() with the index's and catches up when it moved,
// so a deletion acknowledged by any process is never answered afterwards.
class Gallery {
 public:
  // `verifier` analyses the photos and must outlive the gallery. Nothing is opened or loaded here (the
  // first call that needs the store does it), so a gallery whose database is down can be constructed.
  Gallery(std::unique_ptr<GalleryStore> store, const Verifier& verifier, GalleryOptions options = {});
  ~Gallery();
  Gallery(const Gallery&) = delete;
  Gallery& operator=(const Gallery&) = delete;

  // Analyses the photo, checks it (no face: Error{no_face}; several under FacePolicy::error:
  // Error{too_many_faces}; a poor or uncomparable face: Error{low_quality}) and stores its face.
  // Names and labels are checked first (Error{invalid_argument}).
  EnrolResult enrol(std::string_view subject, std::span<const std::uint8_t> encoded_image,
                    const std::optional<std::string>& label = std::nullopt);
  EnrolResult enrol_file(std::string_view subject, const std::filesystem::path& image,
                         const std::optional<std::string>& label = std::nullopt);
  EnrolResult enrol_image(std::string_view subject, std::span<const std::uint8_t> encoded_image,
                          const EnrolOptions& options);
  // A face analysed elsewhere (its descriptor's model must be the verifier's).
  FaceRecord enrol_analysis(std::string_view subject, const ImageAnalysis& analysis,
                            const std::optional<std::string>& label = std::nullopt);

  // Top-k subjects closest to the photo's face. An empty gallery answers no candidates. Faces stored
  // with another descriptor model make it Error{incompatible} naming them: re-enrol them.
  Identification identify(std::span<const std::uint8_t> encoded_image, const IdentifyOptions& options = {});
  Identification identify_file(const std::filesystem::path& image, const IdentifyOptions& options = {});
  Identification identify_embedding(const Embedding& probe, const IdentifyOptions& options = {});

  // The photo against the subject's closest enrolled face (1:1). Error{not_found} for an unknown
  // subject. `threshold` defaults to GalleryOptions::verify_threshold.
  SubjectVerification verify_subject(std::span<const std::uint8_t> encoded_image, std::string_view subject,
                                     std::optional<double> threshold = std::nullopt);
  SubjectVerification verify_subject_file(const std::filesystem::path& image, std::string_view subject,
                                          std::optional<double> threshold = std::nullopt);
  SubjectVerification verify_subject_embedding(const Embedding& probe, std::string_view subject,
                                               std::optional<double> threshold = std::nullopt);

  SubjectPage list_subjects(std::string_view after = {}, std::size_t limit = 100);
  std::optional<SubjectRecord> subject(std::string_view name);
  // Both return once the index no longer holds the rows. false / 0: nothing was there.
  std::size_t delete_subject(std::string_view subject);
  bool delete_face(std::string_view subject, FaceId face);

  // Catches the index up with the store now (a server calls it at start-up so that the first search
  // does not pay for loading). Returns the sequence the index reflects.
  ChangeSeq sync();

  std::size_t subject_count();  // in the index, after a sync
  std::size_t face_count();
  // True when searches use the approximate graph (GalleryOptions::approximate_search_above_faces).
  bool approximate_search();
  const GalleryOptions& options() const { return options_; }
  GalleryStore& store() { return *store_; }

  struct Index;

 private:
  // The decision threshold `options` ask for, checked before any photo is analysed; the rest empty.
  Identification decision(const IdentifyOptions& options) const;
  // Fills `id`'s candidates and verdict at its threshold.
  void search(const Embedding& probe, std::size_t top_k, Identification& id);

  std::unique_ptr<GalleryStore> store_;
  const Verifier& verifier_;
  GalleryOptions options_;
  std::unique_ptr<Index> index_;
};

}  // namespace facematch
