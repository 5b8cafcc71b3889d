#include "report/json_report.hpp"

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
  }
  return faces;
}

nlohmann::json analysis_json(const ImageAnalysis& a) {
  nlohmann::json j = {
      {"width", a.width}, {"height", a.height}, {"faces", faces_json(a)}, {"chosen_face", a.chosen}};
  if (a.decode_scale > 1) j["decode_scale"] = a.decode_scale;
  j["precision"] = to_string(a.precision);
  return j;
}

nlohmann::json verification_json(const Verification& v) {
  return {
      {"verified", v.verified},
      {"match", v.verified ? "Yes" : "No"},
      {"distance", v.distance},
      {"threshold", v.threshold},
      {"model", v.model},
      {"detector", to_string(v.detector)},
      {"align", to_string(v.align)},
      {"precision", to_string(v.precision)},
      {"img1", analysis_json(v.first)},
      {"img2", analysis_json(v.second)},
      {"time_ms",
       {{"img1", times_json(v.first.times)}, {"img2", times_json(v.second.times)}, {"total", v.total_ms}}}};
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

}  // namespace facematch::report
