// JSON shapes of results, shared by the CLI and the HTTP service so both speak the same language. A face
// and an image have one shape each (face_json, image_json) in every answer that holds them; the shapes
// are described in web/openapi.json (components "Face" and "Image").
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "facematch/error.hpp"
#include "facematch/gallery.hpp"
#include "facematch/operating_point.hpp"
#include "facematch/verifier.hpp"

namespace facematch::report {

// {"x", "y", "w", "h"}: a face box in the image's full-size pixels.
nlohmann::json box_json(double x, double y, double width, double height);

// Face `i` of `analysis`: box, score, landmarks (68 [x, y]), quality, and comparable where the pipeline
// judged whether it may be compared (every route but detect); with `descriptor`, its embedding.
nlohmann::json face_json(const ImageAnalysis& analysis, std::size_t i, bool descriptor = false);

struct ImageParts {
  bool descriptors = false;  // every face's descriptor (embed: all faces were embedded)
  bool stage_times = false;  // time_ms of the image's own stages (an image analysed alone)
};
// An analysed image: width, height, decode_scale (1: decoded at full size), precision, faces (face_json),
// chosen_face when a face was chosen for comparison (not on detect), and what `parts` asks for.
nlohmann::json image_json(const ImageAnalysis& analysis, ImageParts parts = {});

// {decode, detect, landmarks, align, embed} of one image analysed alone.
nlohmann::json stage_times_json(const StageTimes& times);

// verified, match ("Yes"/"No"), distance, threshold, similarity, model, detector, align, face_policy,
// precision, img1/img2 (image_json; img2's faces carry their distance under best_match), facial_areas
// (deepface's: the compared face's box of each image), warnings, and time_ms: img1/img2 {decode,
// detect, align}, then landmarks and embed once (one batch ran for the faces of both) and total.
// {net: {precision, threads, measured_ms {fp32, bf16, int8} and from_cache when automatic timed it}}.
nlohmann::json nets_json(const std::vector<NetPrecision>& nets);

nlohmann::json verification_json(const Verification& v);
// A photo against an enrolled subject: verified, match, distance, threshold, similarity, model,
// precision, subject, face_id, faces_compared, img1 (image_json).
nlohmann::json subject_verification_json(const SubjectVerification& v);
// The "operating_point" member of a verification whose threshold came from an operating point: name,
// threshold, target_far (absent for best-accuracy), the TAR and FAR measured at calibration, and source
// (the file, or "built-in").
nlohmann::json operating_point_json(const ResolvedOperatingPoint& op);

// A stored gallery face without its descriptor: face_id, box, score, quality, model, enrolled_at_ms,
// label.
nlohmann::json gallery_face_json(const FaceRecord& face);
// An identification: candidates[] (subject, face_id, label, distance, similarity), identified (or
// null), threshold, operating_point {name, source}, gallery_size, gallery_faces.
nlohmann::json identification_json(const Identification& id);
// A subject of a listing: subject, faces (how many), created_at_ms.
nlohmann::json subject_summary_json(const SubjectSummary& subject);
// An enrolled subject: subject, created_at_ms, faces[] (gallery_face_json).
nlohmann::json subject_json(const SubjectRecord& subject);

// {"error": {"code", "message", "image"?}}: the one error shape of the CLI and the service; "image"
// names the image at fault when there is one.
nlohmann::json error_json(std::string_view code, const std::string& message, const std::string& image);
nlohmann::json error_json(const Error& error);

}  // namespace facematch::report
