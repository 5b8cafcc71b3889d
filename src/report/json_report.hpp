// JSON shapes of results, shared by the CLI and the HTTP service so both speak the same language.
#pragma once

#include <nlohmann/json.hpp>

#include "facematch/gallery.hpp"
#include "facematch/operating_point.hpp"
#include "facematch/verifier.hpp"

namespace facematch::report {

nlohmann::json face_json(const Face& face);
nlohmann::json times_json(const StageTimes& times);
// width, height, faces (box, score, landmarks), chosen face index, precision, nets, and stage times.
nlohmann::json analysis_json(const ImageAnalysis& analysis);
// {net: {precision, threads, measured_ms {fp32, bf16, int8} and from_cache when automatic timed it}}.
nlohmann::json nets_json(const std::vector<NetPrecision>& nets);
// Every face of `analysis` (face_json) with its "quality" object.
nlohmann::json faces_json(const ImageAnalysis& analysis);
// verified, match ("Yes"/"No"), distance, threshold, model, detector, align, precision, nets, img1/img2
// analyses, time_ms.
nlohmann::json verification_json(const Verification& v);
// The "operating_point" member of a verification whose threshold came from an operating point: name,
// threshold, target_far (absent for best-accuracy), the TAR and FAR measured at calibration, and source
// (the file, or "built-in").
nlohmann::json operating_point_json(const ResolvedOperatingPoint& op);

// A stored gallery face without its descriptor: face_id, box, quality, model, enrolled_at_ms, label.
nlohmann::json gallery_face_json(const FaceRecord& face);
// An identification: candidates[] (subject, face_id, label, distance, similarity), identified (or
// null), threshold, operating_point {name, source}, gallery_size, gallery_faces.
nlohmann::json identification_json(const Identification& id);

}  // namespace facematch::report
