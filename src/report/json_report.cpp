#include "report/json_report.hpp"

#include <cmath>

#include "facematch/compare.hpp"
#include "facematch/embed.hpp"
#include "facematch/pipeline.hpp"

namespace facematch::report {

nlohmann::json box_json(double x, double y, double width, double height) {
  return {{"x", x}, {"y", y}, {"w", width}, {"h", height}};
}

nlohmann::json face_json(const ImageAnalysis& a, std::size_t i, bool descriptor) {
  const auto& face = a.faces.at(i);
  const auto& b = face.detection.box;
  nlohmann::json landmarks = nlohmann::json::array();
  for (const auto& p : face.landmarks) landmarks.push_back({p.x, p.y});
  nlohmann::json j = {{"box", box_json(b.x, b.y, b.width, b.height)},
                      {"score", face.detection.score},
                      {"landmarks", std::move(landmarks)}};
  // Only a face found lying on its side or upside down says so (Detection::upright_turns).
  if (face.detection.upright_turns != 0) j["upright_turns"] = face.detection.upright_turns;
  if (i < a.quality.size()) j["quality"] = to_json(a.quality[i]);
  if (i < a.comparable.size()) j["comparable"] = static_cast<bool>(a.comparable[i]);
  if (descriptor) j["descriptor"] = a.embeddings.at(i).values;
  return j;
}

nlohmann::json stage_times_json(const StageTimes& t) {
  return {{"decode", t.decode_ms},
          {"detect", t.detect_ms},
          {"landmarks", t.landmarks_ms},
          {"align", t.align_ms},
          {"embed", t.embed_ms}};
}

nlohmann::json nets_json(const std::vector<NetPrecision>& nets) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& n : nets) {
    nlohmann::json net = {{"precision", to_string(n.precision)}, {"threads", n.threads}};
    if (!n.measured_ms.empty()) {
      nlohmann::json times = nlohmann::json::object();
      for (const auto& [p, ms] : n.measured_ms) times[std::string(to_string(p))] = ms;
      net["measured_ms"] = std::move(times);
      net["from_cache"] = n.from_cache;
    }
    j[n.net] = std::move(net);
  }
  return j;
}

nlohmann::json image_json(const ImageAnalysis& a, ImageParts parts) {
  nlohmann::json faces = nlohmann::json::array();
  for (std::size_t i = 0; i < a.faces.size(); ++i) faces.push_back(face_json(a, i, parts.descriptors));
  nlohmann::json j = {{"width", a.width},
                      {"height", a.height},
                      {"decode_scale", a.decode_scale},
                      {"precision", to_string(a.precision)},
                      {"nets", nets_json(a.nets)},
                      {"faces", std::move(faces)}};
  // Only an analysis that went on to embedding chose a face; detection alone chooses none.
  if (!a.embeddings.empty()) j["chosen_face"] = a.chosen;
  if (parts.stage_times) j["time_ms"] = stage_times_json(a.times);
  return j;
}

namespace {

// Says which face of a photo with several was compared, so a "No" against a group photo is not silent.
void add_face_choice_warnings(const Verification& v, nlohmann::json& answer) {
  nlohmann::json warnings = nlohmann::json::array();
  const auto note = [&](const char* which, const ImageAnalysis& a, const char* how) {
    if (a.faces.size() < 2) return;
    warnings.push_back(std::string(which) + " has " + std::to_string(a.faces.size()) + " faces; face " +
                       std::to_string(a.chosen) + " (" + how + ") was compared");
  };
  const bool best_match = v.face_policy == FacePolicy::best_match;
  note("img1", v.first, best_match ? "the largest" : std::string(to_string(v.face_policy)).c_str());
  note("img2", v.second, best_match ? "the closest match" : std::string(to_string(v.face_policy)).c_str());
  if (!warnings.empty()) answer["warnings"] = std::move(warnings);
}

// The landmark and recognition nets ran once for the faces of both images (verifier.hpp), and each
// image's StageTimes holds its share of that batch: the sum is the batch's time.
nlohmann::json verification_times_json(const Verification& v) {
  const auto own = [](const StageTimes& t) {
    return nlohmann::json{{"decode", t.decode_ms}, {"detect", t.detect_ms}, {"align", t.align_ms}};
  };
  return {{"img1", own(v.first.times)},
          {"img2", own(v.second.times)},
          {"landmarks", v.first.times.landmarks_ms + v.second.times.landmarks_ms},
          {"embed", v.first.times.embed_ms + v.second.times.embed_ms},
          {"total", v.total_ms}};
}

}  // namespace

nlohmann::json verification_json(const Verification& v) {
  nlohmann::json answer = {{"verified", v.verified},
                           {"match", v.verified ? "Yes" : "No"},
                           {"distance", v.distance},
                           {"threshold", v.threshold},
                           {"similarity", similarity_from_distance(v.distance, v.threshold)},
                           {"model", v.model},
                           {"detector", to_string(v.detector)},
                           {"align", to_string(v.align)},
                           {"face_policy", to_string(v.face_policy)},
                           {"precision", to_string(v.precision)},
                           {"nets", nets_json(v.first.nets)},
                           {"pipeline", to_json(v.pipeline)},
                           {"fingerprint", pipeline_fingerprint(v.pipeline)},
                           {"img1", image_json(v.first)},
                           {"img2", image_json(v.second)},
                           {"time_ms", verification_times_json(v)}};
  for (std::size_t i = 0; i < v.second_face_distances.size(); ++i)
    if (!std::isnan(v.second_face_distances[i]))
      answer["img2"]["faces"][i]["distance"] = v.second_face_distances[i];
  // deepface's field (its clients read facial_areas.img1.x ...): the compared faces' boxes, taken from
  // the faces above so that both always agree.
  answer["facial_areas"] = {{"img1", answer["img1"]["faces"][v.first.chosen]["box"]},
                            {"img2", answer["img2"]["faces"][v.second.chosen]["box"]}};
  add_face_choice_warnings(v, answer);
  return answer;
}

nlohmann::json subject_verification_json(const SubjectVerification& v) {
  return {{"verified", v.verified},
          {"match", v.verified ? "Yes" : "No"},
          {"distance", v.distance},
          {"threshold", v.threshold},
          {"similarity", v.similarity},
          {"model", kEmbeddingModelId},
          {"precision", to_string(v.probe.precision)},
          {"subject", v.subject},
          {"face_id", v.face_id},
          {"faces_compared", v.faces_compared},
          {"img1", image_json(v.probe)}};
}

nlohmann::json operating_point_json(const ResolvedOperatingPoint& op) {
  nlohmann::json j = {{"name", op.point.name},
                      {"threshold", op.point.threshold},
                      {"calibration_tar", op.point.tar},
                      {"calibration_far", op.point.far},
                      {"source", op.origin}};
  if (op.point.target_far) j["target_far"] = *op.point.target_far;
  return j;
}

nlohmann::json gallery_face_json(const FaceRecord& f) {
  const auto& b = f.box;
  return {{"face_id", f.id},
          {"box", box_json(b.x, b.y, b.width, b.height)},
          {"score", b.score},
          {"quality", to_json(f.quality)},
          {"model", f.descriptor.model},
          {"enrolled_at_ms", f.enrolled_at_ms},
          {"label", f.label ? nlohmann::json(*f.label) : nlohmann::json(nullptr)}};
}

nlohmann::json identification_json(const Identification& id) {
  nlohmann::json candidates = nlohmann::json::array();
  for (const auto& c : id.candidates)
    candidates.push_back({{"subject", c.subject},
                          {"face_id", c.face_id},
                          {"label", c.label ? nlohmann::json(*c.label) : nlohmann::json(nullptr)},
                          {"distance", c.distance},
                          {"similarity", c.similarity}});
  return {{"candidates", std::move(candidates)},
          {"identified", id.identified ? nlohmann::json(*id.identified) : nlohmann::json(nullptr)},
          {"threshold", id.threshold},
          {"operating_point", {{"name", id.operating_point}, {"source", id.operating_point_origin}}},
          {"gallery_size", id.gallery_size},
          {"gallery_faces", id.gallery_faces}};
}

nlohmann::json error_json(std::string_view code, const std::string& message, const std::string& image) {
  nlohmann::json error = {{"code", code}, {"message", message}};
  if (!image.empty()) error["image"] = image;
  return {{"error", std::move(error)}};
}

nlohmann::json error_json(const Error& error) {
  return error_json(to_string(error.code()), error.what(), error.image());
}

nlohmann::json subject_summary_json(const SubjectSummary& subject) {
  return {{"subject", subject.name}, {"faces", subject.faces}, {"created_at_ms", subject.created_at_ms}};
}

nlohmann::json subject_json(const SubjectRecord& subject) {
  nlohmann::json faces = nlohmann::json::array();
  for (const auto& f : subject.faces) faces.push_back(gallery_face_json(f));
  return {{"subject", subject.summary.name},
          {"created_at_ms", subject.summary.created_at_ms},
          {"faces", std::move(faces)}};
}

}  // namespace facematch::report
