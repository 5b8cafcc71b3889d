#include "report/json_report.hpp"

#include <cmath>

namespace facematch::report {

nlohmann::json face_json(const Face& face) {
  const auto& b = face.detection.box;
  nlohmann::json landmarks = nlohmann::json::array();
  for (const auto& p : face.landmarks) landmarks.push_back({p.x, p.y});
  return {{"box", {{"x", b.x}, {"y", b.y}, {"w", b.width}, {"h", b.height}}},
          {"score", face.detection.score},
          {"landmarks", std::move(landmarks)}};
}

nlohmann::json times_json(const StageTimes& t) {
  return {{"decode", t.decode_ms},
          {"detect", t.detect_ms},
          {"landmarks", t.landmarks_ms},
          {"align", t.align_ms},
          {"embed", t.embed_ms}};
}

nlohmann::json faces_json(const ImageAnalysis& a) {
  nlohmann::json faces = nlohmann::json::array();
  for (std::size_t i = 0; i < a.faces.size(); ++i) {
    faces.push_back(face_json(a.faces[i]));
    if (i < a.quality.size()) faces.back()["quality"] = to_json(a.quality[i]);
    if (i < a.comparable.size() && !a.comparable[i]) faces.back()["comparable"] = false;
  }
  return faces;
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

nlohmann::json analysis_json(const ImageAnalysis& a) {
  nlohmann::json j = {
      {"width", a.width}, {"height", a.height}, {"faces", faces_json(a)}, {"chosen_face", a.chosen}};
  if (a.decode_scale > 1) j["decode_scale"] = a.decode_scale;
  j["precision"] = to_string(a.precision);
  j["nets"] = nets_json(a.nets);
  return j;
}

namespace {

nlohmann::json verification_fields(const Verification& v);

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

}  // namespace

nlohmann::json verification_json(const Verification& v) {
  auto answer = verification_fields(v);
  add_face_choice_warnings(v, answer);
  for (std::size_t i = 0; i < v.second_face_distances.size(); ++i)
    if (!std::isnan(v.second_face_distances[i]))
      answer["img2"]["faces"][i]["distance"] = v.second_face_distances[i];
  return answer;
}

namespace {

nlohmann::json verification_fields(const Verification& v) {
  return {
      {"verified", v.verified},
      {"match", v.verified ? "Yes" : "No"},
      {"distance", v.distance},
      {"threshold", v.threshold},
      {"model", v.model},
      {"detector", to_string(v.detector)},
      {"align", to_string(v.align)},
      {"face_policy", to_string(v.face_policy)},
      {"precision", to_string(v.precision)},
      {"nets", nets_json(v.first.nets)},
      {"img1", analysis_json(v.first)},
      {"img2", analysis_json(v.second)},
      {"time_ms",
       {{"img1", times_json(v.first.times)}, {"img2", times_json(v.second.times)}, {"total", v.total_ms}}}};
}

}  // namespace

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
          {"box", {{"x", b.x}, {"y", b.y}, {"w", b.width}, {"h", b.height}, {"score", b.score}}},
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

}  // namespace facematch::report
