// Gallery: a GalleryStore followed by an in-memory faiss index (include/facematch/gallery.hpp).
#include "facematch/gallery.hpp"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/impl/IDSelector.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <unordered_map>

#include "facematch/compare.hpp"
#include "facematch/embed.hpp"
#include "facematch/error.hpp"

namespace facematch {

using idx_t = faiss::Index::idx_t;

struct Gallery::Index {
  std::shared_mutex mutex;
  ChangeSeq seq = -1;  // the store's sequence the index reflects; -1 = never loaded
  std::string model = kEmbeddingModelId;
  int dimension = 0;                          // of the indexed descriptors; 0 until the first
  std::unique_ptr<faiss::IndexIDMap2> faiss;  // exact L2 (squared) search over face ids
  struct Face {
    std::string subject;
    std::optional<std::string> label;
  };
  std::unordered_map<FaceId, Face> faces;            // indexed faces
  std::map<std::string, std::set<FaceId>> subjects;  // subject -> its indexed faces
  // Faces whose descriptors this build cannot compare (another model id or length): never indexed,
  // and any search that would need them is refused until they are re-enrolled.
  struct Foreign {
    std::string subject, model;
  };
  std::unordered_map<FaceId, Foreign> foreign;
  // Above `approximate_above` faces: an HNSW graph over the same descriptors finds the nearest faces.
  // It cannot remove rows, so a deleted face's row stays (searches skip it) until the stale rows are
  // half of the graph, which is then rebuilt.
  std::size_t approximate_above = 0;  // 0: never
  int beam = 64;
  std::unique_ptr<faiss::IndexHNSWFlat> graph;
  std::vector<FaceId> graph_faces;  // graph row -> face id
  std::size_t graph_stale = 0;      // rows of deleted faces

  void clear() {
    faiss.reset();
    graph.reset();
    graph_faces.clear();
    graph_stale = 0;
    dimension = 0;
    faces.clear();
    subjects.clear();
    foreign.clear();
  }

  // Keeps the graph in step with the flat index after an add or a removal.
  void follow_size() {
    const bool wanted = approximate_above > 0 && faces.size() > approximate_above;
    if (!wanted || (graph && 2 * graph_stale > graph_faces.size())) {
      graph.reset();
      graph_faces.clear();
      graph_stale = 0;
    }
    if (!wanted || graph) return;
    graph = std::make_unique<faiss::IndexHNSWFlat>(dimension, kGraphLinks);
    const auto& flat = static_cast<const faiss::IndexFlat&>(*faiss->index);
    graph->add(faiss->ntotal, flat.get_xb());
    graph_faces.assign(faiss->id_map.begin(), faiss->id_map.end());
  }
  static constexpr int kGraphLinks = 32;  // HNSW M (docs/gallery-search.md)

  std::size_t searchable_rows() const {
    return graph ? graph_faces.size() : static_cast<std::size_t>(faiss->ntotal);
  }

  // The ids of (about) the k faces nearest to `probe`: exact from the flat index, approximate from the
  // graph, which may also hold rows of deleted faces (left out, so fewer than k may come back).
  std::vector<FaceId> nearest(const float* probe, idx_t k) const {
    std::vector<float> distances(static_cast<std::size_t>(k));
    std::vector<idx_t> rows(static_cast<std::size_t>(k));
    std::vector<FaceId> found;
    if (!graph) {
      faiss->search(1, probe, k, distances.data(), rows.data());
      for (const auto r : rows)
        if (r >= 0) found.push_back(r);
      return found;
    }
    faiss::SearchParametersHNSW params;
    params.efSearch = std::max(beam, static_cast<int>(k));
    graph->search(1, probe, k, distances.data(), rows.data(), &params);
    for (const auto r : rows) {
      if (r < 0) continue;
      const FaceId id = graph_faces[static_cast<std::size_t>(r)];
      if (faces.contains(id)) found.push_back(id);
    }
    return found;
  }

  void remove(const std::vector<FaceId>& ids) {
    std::vector<idx_t> gone;
    for (const FaceId id : ids) {
      if (const auto f = foreign.find(id); f != foreign.end()) {
        foreign.erase(f);
        continue;
      }
      const auto it = faces.find(id);
      if (it == faces.end()) continue;
      auto& of_subject = subjects[it->second.subject];
      of_subject.erase(id);
      if (of_subject.empty()) subjects.erase(it->second.subject);
      faces.erase(it);
      gone.push_back(id);
    }
    if (!gone.empty() && faiss) {
      faiss::IDSelectorBatch selector(gone.size(), gone.data());
      faiss->remove_ids(selector);
      if (graph) graph_stale += gone.size();
      follow_size();
    }
  }

  void add(const std::vector<FaceRecord>& records) {
    std::vector<float> values;
    std::vector<idx_t> ids;
    for (const auto& r : records) {
      if (faces.contains(r.id) || foreign.contains(r.id)) continue;
      const int d = static_cast<int>(r.descriptor.values.size());
      if (r.descriptor.model != model || d == 0 || (dimension != 0 && d != dimension)) {
        foreign[r.id] = {r.subject, r.descriptor.model};
        continue;
      }
      if (!faiss) {
        dimension = d;
        faiss = std::make_unique<faiss::IndexIDMap2>(new faiss::IndexFlatL2(d));
        faiss->own_fields = true;
      }
      values.insert(values.end(), r.descriptor.values.begin(), r.descriptor.values.end());
      ids.push_back(r.id);
      faces[r.id] = {r.subject, r.label};
      subjects[r.subject].insert(r.id);
    }
    if (ids.empty()) return;
    faiss->add_with_ids(static_cast<idx_t>(ids.size()), values.data(), ids.data());
    if (graph) {
      graph->add(static_cast<idx_t>(ids.size()), values.data());
      graph_faces.insert(graph_faces.end(), ids.begin(), ids.end());
    }
    follow_size();
  }

  Embedding descriptor(FaceId id) const {
    Embedding e;
    e.model = model;
    e.values.resize(static_cast<std::size_t>(dimension));
    faiss->reconstruct(id, e.values.data());
    return e;
  }

  // Error{incompatible} when faces of `subject` (or of any subject when empty) cannot be compared.
  void refuse_foreign(const std::string& subject = {}) const {
    std::size_t count = 0;
    std::set<std::string> models, names;
    for (const auto& [id, f] : foreign) {
      if (!subject.empty() && f.subject != subject) continue;
      ++count;
      models.insert(f.model);
      names.insert(f.subject);
    }
    if (count == 0) return;
    std::string message = std::to_string(count) + " enrolled face(s) of " + std::to_string(names.size()) +
                          " subject(s) (e.g. '" + *names.begin() + "') hold descriptors of model '" +
                          *models.begin() + "', which this facematch cannot compare with its own ('" + model +
                          "'): re-enrol them (delete the subject and enrol its photos again)";
    throw Error(ErrorCode::incompatible, message);
  }

  // Each subject's closest face to `probe`, exactly (double sums, as verify computes them).
  std::pair<FaceId, double> closest_face(const std::string& subject, const Embedding& probe) const {
    FaceId best = 0;
    double best_distance = std::numeric_limits<double>::infinity();
    for (const FaceId id : subjects.at(subject)) {
      const double d = euclidean_distance(probe, descriptor(id));
      if (d < best_distance) best = id, best_distance = d;
    }
    return {best, best_distance};
  }
};

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Enrolment and search analyse one face: the largest unless the policy is best or error.
PipelineOptions one_face_pipeline(PipelineOptions p) {
  if (p.face_policy == FacePolicy::best_match) p.face_policy = FacePolicy::largest;
  return p;
}

}  // namespace

Gallery::Gallery(std::unique_ptr<GalleryStore> store, const Verifier& verifier, GalleryOptions options)
    : store_(std::move(store)),
      verifier_(verifier),
      options_(std::move(options)),
      index_(std::make_unique<Index>()) {
  if (!store_) throw Error(ErrorCode::invalid_argument, "a gallery needs a store");
  if (options_.approximate_search_beam < 1)
    throw Error(ErrorCode::invalid_argument, "the approximate search beam must be at least 1");
  index_->approximate_above = options_.approximate_search_above_faces;
  index_->beam = options_.approximate_search_beam;
}

Gallery::~Gallery() = default;

ChangeSeq Gallery::sync() {
  const ChangeSeq current = store_->current_seq();
  {
    std::shared_lock lock(index_->mutex);
    if (index_->seq == current) return current;
  }
  std::unique_lock lock(index_->mutex);
  if (index_->seq == current) return current;
  // Another thread may have caught up past `current` meanwhile; a sequence still behind the index's
  // means the database was replaced (restored from a backup): reload.
  if (index_->seq > current && store_->current_seq() >= index_->seq) return index_->seq;
  if (index_->seq < 0 || current < index_->seq) {
    auto all = store_->load_all();
    index_->clear();
    index_->add(all.added);
    index_->seq = all.seq;
  } else {
    auto changes = store_->changes_since(index_->seq);
    index_->remove(changes.removed);
    index_->add(changes.added);
    index_->seq = changes.seq;
  }
  return index_->seq;
}

FaceRecord Gallery::enrol_analysis(std::string_view subject, const ImageAnalysis& analysis,
                                   const std::optional<std::string>& label) {
  check_subject_name(subject);
  if (label) check_label(*label);
  if (analysis.faces.empty()) throw Error(ErrorCode::no_face, "no face found in the image");
  const auto& face = analysis.faces.at(analysis.chosen);
  FaceRecord r;
  r.subject = std::string(subject);
  r.descriptor = analysis.chosen_embedding();
  if (r.descriptor.model != index_->model)
    throw Error(ErrorCode::invalid_argument, "the descriptor's model '" + r.descriptor.model +
                                                 "' is not this gallery's ('" + index_->model + "')");
  r.box = {face.detection.box.x, face.detection.box.y, face.detection.box.width, face.detection.box.height,
           face.detection.score};
  if (analysis.chosen < analysis.quality.size()) r.quality = analysis.quality[analysis.chosen];
  r.enrolled_at_ms = now_ms();
  r.label = label;
  auto stored = store_->add_face(r);
  sync();
  return stored;
}

EnrolResult Gallery::enrol_image(std::string_view subject, std::span<const std::uint8_t> encoded_image,
                                 const EnrolOptions& options) {
  // Checked before the photo is analysed: a bad name must not cost an inference.
  check_subject_name(subject);
  if (options.label) check_label(*options.label);
  auto pipeline = options_.pipeline;
  if (options.face_policy) pipeline.face_policy = *options.face_policy;
  pipeline = one_face_pipeline(pipeline);
  pipeline.require_acceptable_quality = options.require_quality.value_or(options_.enrol_requires_quality);
  EnrolResult result;
  result.analysis = verifier_.analyze_encoded(encoded_image, pipeline);
  result.face = enrol_analysis(subject, result.analysis, options.label);
  return result;
}

EnrolResult Gallery::enrol(std::string_view subject, std::span<const std::uint8_t> encoded_image,
                           const std::optional<std::string>& label) {
  return enrol_image(subject, encoded_image, EnrolOptions{label, std::nullopt, std::nullopt});
}

EnrolResult Gallery::enrol_file(std::string_view subject, const std::filesystem::path& image,
                                const std::optional<std::string>& label) {
  check_subject_name(subject);
  if (label) check_label(*label);
  std::ifstream in(image, std::ios::binary);
  if (!in) throw Error(ErrorCode::io_error, "cannot read " + image.string());
  const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                        std::istreambuf_iterator<char>());
  return enrol(subject, bytes, label);
}

Identification Gallery::decision(const IdentifyOptions& options) const {
  if (options.top_k < 1 || options.top_k > 1000)
    throw Error(ErrorCode::invalid_argument, "top_k must be between 1 and 1000");
  if (options.threshold && options.operating_point)
    throw Error(ErrorCode::invalid_argument, "give a threshold or an operating point, not both");
  Identification id;
  if (options.threshold) {
    if (!(*options.threshold > 0)) throw Error(ErrorCode::invalid_argument, "the threshold must be positive");
    id.threshold = *options.threshold;
    id.operating_point = "custom";
    id.operating_point_origin = "request";
  } else {
    const auto op = resolve_operating_point(
        options.operating_point.value_or(options_.identify_operating_point), options_.pipeline);
    id.threshold = op.point.threshold;
    id.operating_point = op.point.name;
    id.operating_point_origin = op.origin;
  }
  return id;
}

Identification Gallery::identify_embedding(const Embedding& probe, const IdentifyOptions& options) {
  auto id = decision(options);
  search(probe, options.top_k, id);
  return id;
}

void Gallery::search(const Embedding& probe, std::size_t top_k, Identification& id) {
  sync();
  std::shared_lock lock(index_->mutex);
  const auto& index = *index_;
  index.refuse_foreign();
  id.gallery_size = index.subjects.size();
  id.gallery_faces = index.faces.size();
  if (!index.faiss || index.faiss->ntotal == 0) return;
  if (probe.model != index.model || static_cast<int>(probe.values.size()) != index.dimension)
    throw Error(ErrorCode::invalid_argument,
                "the probe's descriptor (model '" + probe.model + "') cannot be compared with the gallery's");
  // The k nearest faces may belong to fewer than top_k subjects; widen until they do or all are seen.
  const auto total = static_cast<idx_t>(index.searchable_rows());
  auto k = std::min<idx_t>(total, static_cast<idx_t>(top_k) * 4);
  std::vector<std::string> order;
  for (;;) {
    order.clear();
    std::set<std::string> seen;
    for (const auto face : index.nearest(probe.values.data(), k)) {
      const auto& subject = index.faces.at(face).subject;
      if (seen.insert(subject).second) order.push_back(subject);
    }
    if (order.size() >= top_k || k == total) break;
    k = std::min<idx_t>(total, k * 4);
  }
  for (const auto& subject : order) {
    const auto [face, distance] = index.closest_face(subject, probe);
    id.candidates.push_back({subject, face, index.faces.at(face).label, distance,
                             similarity_from_distance(distance, id.threshold)});
  }
  std::stable_sort(id.candidates.begin(), id.candidates.end(),
                   [](const Candidate& a, const Candidate& b) { return a.distance < b.distance; });
  if (id.candidates.size() > top_k) id.candidates.resize(top_k);
  if (!id.candidates.empty() && is_match(id.candidates[0].distance, id.threshold))
    id.identified = id.candidates[0].subject;
}

Identification Gallery::identify(std::span<const std::uint8_t> encoded_image,
                                 const IdentifyOptions& options) {
  auto id = decision(options);
  id.probe = verifier_.analyze_encoded(encoded_image, one_face_pipeline(options_.pipeline));
  search(id.probe.chosen_embedding(), options.top_k, id);
  return id;
}

Identification Gallery::identify_file(const std::filesystem::path& image, const IdentifyOptions& options) {
  auto id = decision(options);
  id.probe = verifier_.analyze_file(image, one_face_pipeline(options_.pipeline));
  search(id.probe.chosen_embedding(), options.top_k, id);
  return id;
}

SubjectVerification Gallery::verify_subject_embedding(const Embedding& probe, std::string_view subject,
                                                      std::optional<double> threshold) {
  check_subject_name(subject);
  SubjectVerification v;
  v.subject = std::string(subject);
  v.threshold = threshold.value_or(options_.verify_threshold);
  if (!(v.threshold > 0)) throw Error(ErrorCode::invalid_argument, "the threshold must be positive");
  sync();
  std::shared_lock lock(index_->mutex);
  const auto& index = *index_;
  index.refuse_foreign(v.subject);
  if (!index.subjects.contains(v.subject))
    throw Error(ErrorCode::not_found, "subject '" + v.subject + "' is not enrolled");
  const auto [face, distance] = index.closest_face(v.subject, probe);
  v.face_id = face;
  v.distance = distance;
  v.faces_compared = index.subjects.at(v.subject).size();
  v.verified = is_match(distance, v.threshold);
  v.similarity = similarity_from_distance(distance, v.threshold);
  return v;
}

SubjectVerification Gallery::verify_subject(std::span<const std::uint8_t> encoded_image,
                                            std::string_view subject, std::optional<double> threshold) {
  check_subject_name(subject);
  auto analysis = verifier_.analyze_encoded(encoded_image, one_face_pipeline(options_.pipeline));
  auto v = verify_subject_embedding(analysis.chosen_embedding(), subject, threshold);
  v.probe = std::move(analysis);
  return v;
}

SubjectVerification Gallery::verify_subject_file(const std::filesystem::path& image, std::string_view subject,
                                                 std::optional<double> threshold) {
  check_subject_name(subject);
  auto analysis = verifier_.analyze_file(image, one_face_pipeline(options_.pipeline));
  auto v = verify_subject_embedding(analysis.chosen_embedding(), subject, threshold);
  v.probe = std::move(analysis);
  return v;
}

SubjectPage Gallery::list_subjects(std::string_view after, std::size_t limit) {
  if (limit < 1 || limit > 1000) throw Error(ErrorCode::invalid_argument, "limit must be between 1 and 1000");
  return store_->list_subjects(after, limit);
}

std::optional<SubjectRecord> Gallery::subject(std::string_view name) {
  check_subject_name(name);
  return store_->get_subject(name);
}

std::size_t Gallery::delete_subject(std::string_view subject) {
  check_subject_name(subject);
  const auto n = store_->delete_subject(subject);
  sync();
  return n;
}

bool Gallery::delete_face(std::string_view subject, FaceId face) {
  check_subject_name(subject);
  const bool deleted = store_->delete_face(subject, face);
  sync();
  return deleted;
}

std::size_t Gallery::subject_count() {
  sync();
  std::shared_lock lock(index_->mutex);
  return index_->subjects.size();
}

bool Gallery::approximate_search() {
  sync();
  std::shared_lock lock(index_->mutex);
  return index_->graph != nullptr;
}

std::size_t Gallery::face_count() {
  sync();
  std::shared_lock lock(index_->mutex);
  return index_->faces.size();
}

}  // namespace facematch
