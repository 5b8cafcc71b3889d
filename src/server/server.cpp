#include "server/server.hpp"

#include <httplib.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "facematch/embed.hpp"
#include "facematch/error.hpp"
#include "facematch/image.hpp"
#include "facematch/pipeline.hpp"
#include "report/json_report.hpp"
#include "server/admission.hpp"
#include "server/bounded_server.hpp"
#include "server/http_error.hpp"
#include "server/metrics.hpp"
#include "server/request_parse.hpp"
#include "server/web_assets.hpp"

namespace facematch::server {

HttpError from_library_error(const Error& error) {
  switch (error.code()) {
    case ErrorCode::invalid_argument:
      return {400, "bad_request", error.what(), error.image()};
    case ErrorCode::bad_image:
      return {400, "bad_image", error.what(), error.image()};
    case ErrorCode::image_too_large:
      return {413, "image_too_large", error.what(), error.image()};
    case ErrorCode::no_face:
      return {422, "no_face", error.what(), error.image()};
    case ErrorCode::too_many_faces:
      return {422, "too_many_faces", error.what(), error.image()};
    case ErrorCode::low_quality:
      return {422, "low_quality", error.what(), error.image()};
    case ErrorCode::not_found:
      return {404, "not_found", error.what(), error.image()};
    case ErrorCode::unavailable:
      return {503, "unavailable", error.what(), error.image()};
    case ErrorCode::incompatible:
      return {409, "incompatible", error.what(), error.image()};
    case ErrorCode::model_error:
    case ErrorCode::io_error:
    case ErrorCode::internal:
      break;
  }
  return {500, "internal", "internal error; the server log has details"};
}

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Every answer of the original route that is not a verdict (no face, bad input, overload, 401) still
// carries "Match": "No" beside its error: the original clients read only that field, and a body without
// it would make them fail open or crash (README "The original API", docs/original-api.md).
void add_original_api_refusal(httplib::Response& res) {
  if (res.status == 200) return;
  auto body = json::parse(res.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object()) body = json::object();
  body["Match"] = "No";
  res.set_content(body.dump(), "application/json");
}

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void send_error(httplib::Response& res, const HttpError& e) {
  send_json(res, e.status(), report::error_json(e.code(), e.what(), e.image()));
}

// Errors from one image carry its name, so "no face found" says which one.
template <typename F>
auto labelled(const std::string& which, F&& analyze_one) {
  try {
    return analyze_one();
  } catch (const Error& e) {
    throw about_image(e, which);
  }
}

using Digest = std::array<unsigned char, SHA256_DIGEST_LENGTH>;

Digest sha256(std::string_view text) {
  Digest d{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), d.data());
  return d;
}

std::string trim(std::string s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

enum class BodyKind { json, multipart, other };

std::string media_type(const httplib::Request& req) {
  auto type = req.get_header_value("Content-Type");
  type = trim(type.substr(0, type.find(';')));
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return std::tolower(c); });
  return type;
}

// The same lower-cased media type the route table admits by, so a route never admits a body that its
// handler then refuses.
BodyKind body_kind(const httplib::Request& req) {
  if (req.is_multipart_form_data()) return BodyKind::multipart;
  return media_type(req) == "application/json" ? BodyKind::json : BodyKind::other;
}

HttpError unsupported_media_type(std::string_view accepted) {
  return {415, "unsupported_media_type", "send " + std::string(accepted)};
}

std::optional<std::string> form_text(const httplib::Request& req, const char* name) {
  if (!req.has_file(name)) return std::nullopt;
  return req.get_file_value(name).content;
}

Bytes form_image(const httplib::Request& req, const std::string& name) {
  if (!req.has_file(name)) throw bad_request("missing form field '" + name + "' (an image file)");
  const auto& content = req.get_file_value(name).content;
  if (content.empty()) throw bad_image("'" + name + "' is empty", name);
  return Bytes(content.begin(), content.end());
}

// Every field of the form but `non_option_fields` (images, gallery fields) is an option (an unknown one
// is 400 naming it).
RequestOptions form_options(const httplib::Request& req,
                            std::initializer_list<std::string_view> non_option_fields) {
  std::vector<std::pair<std::string, std::string>> fields;
  for (const auto& [name, part] : req.files)
    if (std::find(non_option_fields.begin(), non_option_fields.end(), name) == non_option_fields.end())
      fields.emplace_back(name, part.content);
  return parse_form_options(fields);
}

// The size of the request's body: httplib parses multipart bodies into req.files and leaves req.body
// empty, and does not read the body of a request refused before it.
std::size_t body_bytes(const httplib::Request& req) {
  if (!req.body.empty()) return req.body.size();
  return std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10);
}

// `prefix` then `text` with the regex metacharacters escaped.
std::string regex_escape(std::string_view prefix, std::string_view text) {
  std::string out(prefix);
  for (const char c : text) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

std::vector<std::string> split_list(const std::string& list) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (start <= list.size()) {
    auto end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    auto item = trim(list.substr(start, end - start));
    if (!item.empty()) items.push_back(std::move(item));
    start = end + 1;
  }
  return items;
}

// The start of the request being handled on this connection thread (httplib runs one request per
// thread at a time), so the access log and the latency metric can measure it.
thread_local Clock::time_point request_started{};

}  // namespace

struct Service::Impl {
  Impl(std::shared_ptr<const Models> models, ServerConfig c)
      : config(std::move(c)),
        workers(config.workers ? config.workers : std::max(1u, std::thread::hardware_concurrency())),
        verifier(std::move(models), workers),
        admission(workers, config.queue),
        metrics(ServiceInfo{kEmbeddingModelId,
                            std::string(to_string(resolve_precision(config.pipeline.precision))),
                            std::string(to_string(config.pipeline.detector.kind)),
                            std::string(to_string(config.pipeline.align))}) {
    config.pipeline.limits.max_bytes = config.max_body_bytes;
    for (const auto& key : config.api_keys) key_digests.push_back(sha256(key));
    if (config.cors_origin != "*") cors_origins = split_list(config.cors_origin);
    if (!config.gallery.empty()) {
      GalleryOptions g;
      g.pipeline = config.pipeline;
      g.verify_threshold = config.threshold;
      gallery = std::make_unique<Gallery>(open_gallery_store(config.gallery), verifier, g);
    }
    setup();
  }

  ServerConfig config;
  std::size_t workers;
  Verifier verifier;
  std::unique_ptr<Gallery> gallery;  // after verifier, which it borrows
  Admission admission;
  Metrics metrics;
  BoundedServer http;  // httplib plus limits on slow and endless request heads (bounded_server.hpp)
  std::vector<Digest> key_digests;
  std::vector<std::string> cors_origins;  // when config.cors_origin is a list rather than "*"
  std::atomic<bool> ready{false}, draining{false};
  std::atomic<bool> withdrawn{false};  // withdraw(): not ready for the balancer, still serving

  // The API's routes: a path one of them matches answers other methods 405 with Allow, and bodies of a
  // type the route does not take 415, before httplib reads the body (route()).
  struct Route {
    std::regex pattern;
    std::string method;
    std::vector<std::string> media_types;  // accepted Content-Types ("" = none sent); empty: any
    std::string path;                      // as web/openapi.json writes it: /subjects/{subject}
  };
  std::vector<Route> routes;

  // --- cross-cutting -------------------------------------------------------------------------

  // Every API key is compared (as a SHA-256 digest, so lengths leak nothing) with CRYPTO_memcmp, and
  // the loop never exits early, so the time taken does not depend on which key or how much matched.
  bool authorized(const httplib::Request& req) const {
    if (key_digests.empty()) return true;
    std::string presented = req.get_header_value("x-api-key");
    if (presented.empty()) {
      const auto auth = req.get_header_value("Authorization");
      if (auth.rfind("Bearer ", 0) == 0) presented = trim(auth.substr(7));
    }
    if (presented.empty()) return false;
    const auto digest = sha256(presented);
    int matches = 0;
    for (const auto& d : key_digests) matches |= CRYPTO_memcmp(d.data(), digest.data(), d.size()) == 0;
    return matches != 0;
  }

  // Runs a route's body: authentication, then `fn`, mapping every failure to the JSON error shape.
  template <typename F>
  void guarded(const httplib::Request& req, httplib::Response& res, bool needs_key, F&& fn) {
    try {
      if (needs_key && !authorized(req)) {
        res.set_header("WWW-Authenticate", "Bearer");
        throw HttpError(401, "unauthorized",
                        "send a valid API key in the x-api-key header (or Authorization: Bearer <key>)");
      }
      fn();
    } catch (const HttpError& e) {
      send_error(res, e);
    } catch (const Error& e) {
      const auto mapped = from_library_error(e);
      if (mapped.status() >= 500)
        spdlog::error("{} {}: {}: {}", req.method, req.path, to_string(e.code()), e.what());
      send_error(res, mapped);
    } catch (const std::bad_alloc&) {
      spdlog::error("{} {}: out of memory", req.method, req.path);
      send_error(res, {500, "internal", "internal error; the server log has details"});
    } catch (const std::exception& e) {
      spdlog::error("{} {}: {}", req.method, req.path, e.what());
      send_error(res, {500, "internal", "internal error; the server log has details"});
    }
    if (draining || withdrawn) res.set_header("Connection", "close");
  }

  // A place among workers + queue, or 429/503 at once. Taken before the body is parsed so that at
  // most workers + queue requests hold parsed bodies and decoded images in memory at any time.
  Admission::Ticket admit(BodyKind kind) {
    if (kind == BodyKind::other) throw unsupported_media_type("application/json or multipart/form-data");
    return admit();
  }

  Admission::Ticket admit() {
    if (draining)
      throw HttpError(503, "overloaded", "the server is shutting down; retry on another instance");
    if (!ready) throw HttpError(503, "overloaded", "the server is warming up; retry in a second");
    auto ticket = admission.try_admit();
    if (!ticket)
      throw HttpError(429, "overloaded",
                      "all " + std::to_string(admission.workers()) + " workers are busy and " +
                          std::to_string(admission.queue_capacity()) + " requests are queued; retry shortly");
    return std::move(*ticket);
  }

  ImageAnalysis analyze(const std::string& which, const Bytes& bytes, const PipelineOptions& options,
                        bool embed_all = false) {
    auto a = labelled(which, [&] { return verifier.analyze_encoded(bytes, options, embed_all); });
    record(a);
    return a;
  }

  template <typename F>
  Verification verify_and_record(F&& verify) {
    const auto started = Clock::now();
    Verification v = verify();
    metrics.observe_total(seconds_since(started));
    record(v.first);
    record(v.second);
    return v;
  }

  void record(const ImageAnalysis& a) {
    metrics.observe_stages(a.times);
    metrics.add_faces(a.faces.size());
  }

  // --- routing -------------------------------------------------------------------------------

  // `path` is an OpenAPI path template; each {name} matches one path segment (req.matches[1], ...).
  void route(const std::string& method, const std::string& path, std::vector<std::string> media_types,
             httplib::Server::Handler handler) {
    const std::string pattern = std::regex_replace(path, std::regex(R"(\{[a-z_]+\})"), "([^/]+)");
    routes.push_back({std::regex(pattern), method, std::move(media_types), path});
    if (method == "GET") {
      http.Get(pattern, std::move(handler));
    } else if (method == "POST") {
      http.Post(pattern, std::move(handler));
    } else if (method == "PUT") {
      http.Put(pattern, std::move(handler));
    } else if (method == "PATCH") {
      http.Patch(pattern, std::move(handler));
    } else if (method == "DELETE") {
      http.Delete(pattern, std::move(handler));
    } else {
      throw std::logic_error("route: no httplib registration for " + method);
    }
  }

  // The methods of the routes matching `path`, in registration order, each once.
  std::vector<std::string> methods_of(const std::string& path) const {
    std::vector<std::string> methods;
    for (const auto& r : routes)
      if (std::regex_match(path, r.pattern) &&
          std::find(methods.begin(), methods.end(), r.method) == methods.end())
        methods.push_back(r.method);
    return methods;
  }

  // Refusals that need no body, answered before httplib reads one: it would read a POST without
  // Content-Length until the read timeout, a form body into an 8 KB buffer (answering 413), and a body
  // for a method the path does not take. The connection then closes, since the body stays unread.
  std::optional<HttpError> refusal_before_body(const httplib::Request& req, httplib::Response& res) {
    const bool carries_body = req.method == "POST" || req.method == "PUT" || req.method == "PATCH";
    const bool has_length = req.has_header("Content-Length") ||
                            req.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos;
    // httplib reads a DELETE's body like a POST's; one without a length has none.
    if (req.method == "DELETE" && !has_length)
      const_cast<httplib::Request&>(req).headers.emplace("Content-Length", "0");
    if (req.method == "OPTIONS") return std::nullopt;
    const Route* matched = nullptr;
    bool known_path = false;
    for (const auto& r : routes) {
      if (!std::regex_match(req.path, r.pattern)) continue;
      known_path = true;
      if (r.method == req.method || (req.method == "HEAD" && r.method == "GET")) matched = &r;
    }
    if (known_path && !matched) {
      std::string allow;
      for (const auto& m : methods_of(req.path)) allow += m + ", ";
      allow += "OPTIONS";
      res.set_header("Allow", allow);
      return HttpError(405, "method_not_allowed",
                       req.method + " " + req.path + " is not served; allowed: " + allow);
    }
    if (carries_body && !has_length)
      return HttpError(411, "length_required", "send the body with a Content-Length header (or chunked)");
    if (matched && carries_body && !matched->media_types.empty() &&
        std::find(matched->media_types.begin(), matched->media_types.end(), media_type(req)) ==
            matched->media_types.end()) {
      std::string accepted;
      for (const auto& t : matched->media_types) {
        if (t.empty()) continue;
        if (!accepted.empty()) accepted += " or ";
        accepted += t;
      }
      return unsupported_media_type(accepted);
    }
    return std::nullopt;
  }

  // --cors-origin on every answer: "*", or the request's Origin when it is one of the listed ones.
  void add_cors(const httplib::Request& req, httplib::Response& res) const {
    if (config.cors_origin.empty()) return;
    if (config.cors_origin == "*") {
      res.set_header("Access-Control-Allow-Origin", "*");
    } else {
      res.set_header("Vary", "Origin");
      const auto origin = req.get_header_value("Origin");
      if (std::find(cors_origins.begin(), cors_origins.end(), origin) == cors_origins.end()) return;
      res.set_header("Access-Control-Allow-Origin", origin);
    }
    // The original cloud function's value; preflights name the path's own methods.
    if (!res.has_header("Access-Control-Allow-Methods"))
      res.set_header("Access-Control-Allow-Methods", "GET,POST");
  }

  // --- routes --------------------------------------------------------------------------------

  void verify(const httplib::Request& req, httplib::Response& res) {
    VerifyRequest r;
    const auto kind = body_kind(req);
    auto ticket = admit(kind);
    if (kind == BodyKind::json) {
      r = parse_verify_json(req.body, config.pipeline.limits.max_bytes);
    } else if (kind == BodyKind::multipart) {
      r.img1 = form_image(req, "img1");
      r.subject = form_text(req, "subject");
      if (r.subject && req.has_file("img2")) throw bad_request("give 'img2' or 'subject', not both");
      if (!r.subject) r.img2 = form_image(req, "img2");
      r.options = form_options(req, {"img1", "img2", "subject"});
    } else {
      throw unsupported_media_type("application/json or multipart/form-data");
    }
    if (r.subject) return verify_subject(r, ticket, res);
    const auto options = r.options.apply(config.pipeline);
    const double threshold = r.options.threshold_or(config.threshold);
    ticket.wait_for_worker();
    // One call for both images: the Verifier detects them in parallel when it has threads to spare and
    // runs the landmark and recognition nets once for the faces of both.
    const auto v = verify_and_record([&] {
      return verifier.verify_encoded(r.img1, r.img2, options, threshold, {"img1", "img2"});
    });
    auto j = report::verification_json(v);
    // The point holds only for the pipeline it was fitted with, and not when the request set a threshold.
    if (config.operating_point && !r.options.threshold &&
        pipeline_fingerprint(options) == pipeline_fingerprint(config.pipeline))
      j["operating_point"] = report::operating_point_json(*config.operating_point);
    send_json(res, 200, j);
  }

  // --- gallery (issue 13) --------------------------------------------------------------------

  Gallery& the_gallery() {
    if (!gallery)
      throw HttpError(404, "not_found", "this server runs without a gallery (--gallery is empty)");
    return *gallery;
  }

  // The gallery answers with the pipeline it was built with: descriptors of another detector or
  // alignment would not be comparable with the enrolled ones.
  static void refuse_pipeline_options(const RequestOptions& o) { o.refuse_descriptor_settings(); }

  GalleryRequest gallery_request(const httplib::Request& req, BodyKind kind) {
    GalleryRequest r;
    if (kind == BodyKind::json) {
      r = parse_gallery_json(req.body, config.pipeline.limits.max_bytes);
    } else if (kind == BodyKind::multipart) {
      r.img = form_image(req, "img");
      r.options = form_options(req, {"img", "label", "operating_point", "top_k"});
      r.label = form_text(req, "label");
      r.operating_point = form_text(req, "operating_point");
      if (const auto k = form_text(req, "top_k")) r.top_k = parse_top_k(*k);
    } else {
      throw unsupported_media_type("application/json or multipart/form-data");
    }
    refuse_pipeline_options(r.options);
    return r;
  }

  void enrol(const httplib::Request& req, httplib::Response& res, const std::string& subject) {
    auto& g = the_gallery();
    check_subject_name(subject);  // before the body is read: a bad name costs nothing
    const auto kind = body_kind(req);
    auto ticket = admit(kind);
    auto r = gallery_request(req, kind);
    EnrolOptions options;
    options.label = r.label;
    const auto requested = r.options.apply(config.pipeline);
    if (r.options.settings.contains("face_policy")) options.face_policy = requested.face_policy;
    if (r.options.settings.contains("min_quality"))
      options.require_quality = requested.require_acceptable_quality;
    ticket.wait_for_worker();
    const auto started = Clock::now();
    const auto e = labelled("img", [&] { return g.enrol_image(subject, r.img, options); });
    metrics.observe_total(seconds_since(started));
    record(e.analysis);
    auto j = report::gallery_face_json(e.face);
    j["subject"] = e.face.subject;
    j["faces_in_photo"] = e.analysis.faces.size();
    send_json(res, 201, j);
  }

  void list_subjects(const httplib::Request& req, httplib::Response& res) {
    const std::size_t limit =
        req.has_param("limit")
            ? static_cast<std::size_t>(parse_whole_number(req.get_param_value("limit"), 1, 1000,
                                                          "'limit' must be a whole number from 1 to 1000"))
            : 100;
    const auto after = req.has_param("after") ? req.get_param_value("after") : std::string();
    const auto page = the_gallery().list_subjects(after, limit);
    json subjects = json::array();
    for (const auto& s : page.subjects) subjects.push_back(report::subject_summary_json(s));
    send_json(res, 200,
              {{"subjects", std::move(subjects)},
               {"total", page.total_subjects},
               {"next_after", page.next_after ? json(*page.next_after) : json(nullptr)}});
  }

  void get_subject(httplib::Response& res, const std::string& name) {
    const auto s = the_gallery().subject(name);
    if (!s) throw HttpError(404, "not_found", "subject '" + name + "' is not enrolled");
    send_json(res, 200, report::subject_json(*s));
  }

  void delete_subject(httplib::Response& res, const std::string& name) {
    if (the_gallery().delete_subject(name) == 0)
      throw HttpError(404, "not_found", "subject '" + name + "' is not enrolled");
    res.status = 204;
  }

  void delete_face(httplib::Response& res, const std::string& name, const std::string& id_text) {
    const FaceId id = parse_whole_number(id_text, 1, std::numeric_limits<FaceId>::max(),
                                         "a face id is a positive whole number");
    if (!the_gallery().delete_face(name, id))
      throw HttpError(404, "not_found", "subject '" + name + "' has no face " + id_text);
    res.status = 204;
  }

  void identify(const httplib::Request& req, httplib::Response& res) {
    auto& g = the_gallery();
    const auto kind = body_kind(req);
    auto ticket = admit(kind);
    const auto r = gallery_request(req, kind);
    IdentifyOptions options;
    if (r.top_k) options.top_k = *r.top_k;
    options.threshold = r.options.threshold;
    options.operating_point = r.operating_point;
    // A request names a built-in point only: resolving "FILE" or "FILE:NAME" would open any path the
    // client sends.
    if (options.operating_point) (void)builtin_operating_points().get(*options.operating_point);
    ticket.wait_for_worker();
    const auto started = Clock::now();
    const auto id = labelled("img", [&] { return g.identify(r.img, options); });
    metrics.observe_total(seconds_since(started));
    record(id.probe);
    auto j = report::identification_json(id);
    j["model"] = kEmbeddingModelId;
    j["img"] = report::image_json(id.probe);
    j["time_ms"] = {{"total", seconds_since(started) * 1000}};
    send_json(res, 200, j);
  }

  // POST /verify with "subject": the photo against the subject's closest enrolled face.
  void verify_subject(const VerifyRequest& r, Admission::Ticket& ticket, httplib::Response& res) {
    auto& g = the_gallery();
    refuse_pipeline_options(r.options);
    check_subject_name(*r.subject);
    const double threshold = r.options.threshold_or(config.threshold);
    ticket.wait_for_worker();
    const auto started = Clock::now();
    const auto v = labelled("img1", [&] { return g.verify_subject(r.img1, *r.subject, threshold); });
    metrics.observe_total(seconds_since(started));
    record(v.probe);
    auto j = report::subject_verification_json(v);
    j.update({{"detector", to_string(config.pipeline.detector.kind)},
              {"align", to_string(config.pipeline.align)},
              {"time_ms", {{"total", seconds_since(started) * 1000}}}});
    if (config.operating_point && !r.options.threshold)
      j["operating_point"] = report::operating_point_json(*config.operating_point);
    send_json(res, 200, j);
  }

  void detect(const httplib::Request& req, httplib::Response& res) {
    ImagesRequest r;
    const auto kind = body_kind(req);
    auto ticket = admit(kind);
    if (kind == BodyKind::json) {
      r = parse_images_json(req.body, false, 1, config.pipeline.limits.max_bytes);
    } else if (kind == BodyKind::multipart) {
      r.images.push_back(form_image(req, "img"));
      r.options = form_options(req, {"img"});
    } else {
      throw unsupported_media_type("application/json or multipart/form-data");
    }
    const auto options = r.options.apply(config.pipeline);
    ticket.wait_for_worker();
    const auto started = Clock::now();
    const auto analysis = labelled("img", [&] { return verifier.detect_encoded(r.images[0], options); });
    metrics.observe_total(seconds_since(started));
    metrics.add_faces(analysis.faces.size());
    // One image, so its fields are the answer's own.
    auto j = report::image_json(analysis);
    j["detector"] = to_string(options.detector.kind);
    j["time_ms"] = {{"decode", analysis.times.decode_ms},
                    {"detect", analysis.times.detect_ms},
                    {"landmarks", analysis.times.landmarks_ms},
                    {"total", seconds_since(started) * 1000}};
    send_json(res, 200, j);
  }

  void embed(const httplib::Request& req, httplib::Response& res) {
    ImagesRequest r;
    const auto kind = body_kind(req);
    auto ticket = admit(kind);
    if (kind == BodyKind::json) {
      r = parse_images_json(req.body, true, config.max_embed_images, config.pipeline.limits.max_bytes);
    } else if (kind == BodyKind::multipart) {
      if (req.has_file("img")) r.images.push_back(form_image(req, "img"));
      const auto [first, last] = req.files.equal_range("images");
      r.listed = first != last;
      for (auto it = first; it != last; ++it) {
        const std::string which = "images[" + std::to_string(r.images.size()) + "]";
        if (it->second.content.empty())
          r.unreadable.emplace(r.images.size(), bad_image(which + " is empty", which));
        r.images.emplace_back(it->second.content.begin(), it->second.content.end());
      }
      if (r.images.empty()) throw bad_request("missing form field 'img' or 'images' (image files)");
      if (r.images.size() > config.max_embed_images)
        throw bad_request("at most " + std::to_string(config.max_embed_images) + " images per request");
      r.options = form_options(req, {"img", "images"});
    } else {
      throw unsupported_media_type("application/json or multipart/form-data");
    }
    const auto options = r.options.apply(config.pipeline);
    ticket.wait_for_worker();
    const auto started = Clock::now();
    // Each image is answered on its own: its faces, or its error. The request fails only when every
    // image did, with the first one's status (README "Service").
    json images = json::array();
    std::optional<HttpError> first_failure;
    for (std::size_t i = 0; i < r.images.size(); ++i) {
      const std::string which = r.listed ? "images[" + std::to_string(i) + "]" : "img";
      std::optional<HttpError> failure;
      try {
        if (const auto unreadable = r.unreadable.find(i); unreadable != r.unreadable.end())
          throw unreadable->second;
        const auto a = analyze(which, r.images[i], options, /*embed_all=*/true);
        images.push_back(report::image_json(a, {.descriptors = true, .stage_times = true}));
      } catch (const HttpError& e) {
        failure = e;
      } catch (const Error& e) {
        failure = from_library_error(e);
        if (failure->status() >= 500) throw;  // the engine or the models, not this image
      }
      if (!failure) continue;
      images.push_back(report::error_json(failure->code(), failure->what(), failure->image()));
      if (!first_failure) first_failure = std::move(failure);
    }
    metrics.observe_total(seconds_since(started));
    const bool all_failed =
        std::all_of(images.begin(), images.end(), [](const json& j) { return j.contains("error"); });
    json answer = {{"model", kEmbeddingModelId},
                   {"detector", to_string(options.detector.kind)},
                   {"align", to_string(options.align)},
                   {"images", std::move(images)},
                   {"time_ms", {{"total", seconds_since(started) * 1000}}}};
    if (!all_failed) return send_json(res, 200, answer);
    // The error a request of one such image gets, with every image's own beside it.
    answer.update(report::error_json(first_failure->code(), first_failure->what(), first_failure->image()));
    send_json(res, first_failure->status(), answer);
  }

  // The original cloud function: {"truth", "check"} BGR arrays -> {"Match": "Yes"|"No"}.
  void legacy(const httplib::Request& req, httplib::Response& res) {
    auto ticket = admit();  // the route took only JSON, text/plain or no type (setup())
    const auto r =
        parse_legacy_request(req.body, config.pipeline.limits.max_pixels, config.pipeline.limits.min_side);
    ticket.wait_for_worker();
    const auto v = verify_and_record([&] {
      // Its clients compare two portraits: the largest face of each, as always.
      auto options = config.pipeline;
      options.face_policy = FacePolicy::largest;
      options.align = config.legacy_align;
      return verifier.verify(r.truth, r.check, options, config.threshold, {"truth", "check"});
    });
    send_json(res, 200, {{"Match", v.verified ? "Yes" : "No"}});
  }

  Gauges gauges() const {
    Gauges g;
    g.in_flight = admission.in_flight();
    g.running = admission.running();
    g.queued = g.in_flight - std::min(g.in_flight, g.running);
    g.workers = admission.workers();
    g.queue_capacity = admission.queue_capacity();
    g.ready = ready;
    g.draining = draining || withdrawn;
    g.nets = verifier.models()->with_precision(config.pipeline.precision)->net_precisions();
    return g;
  }

  void setup() {
    http.new_task_queue = [n = workers + config.queue + 16] { return new httplib::ThreadPool(n); };
    http.set_payload_max_length(config.max_body_bytes);
    http.set_read_timeout(config.read_timeout_s, 0);
    http.set_write_timeout(config.write_timeout_s, 0);
    http.set_keep_alive_timeout(config.keep_alive_timeout_s);
    http.set_keep_alive_max_count(config.keep_alive_max_requests);
    http.set_tcp_nodelay(true);

    http.set_pre_routing_handler(
        httplib::Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
          request_started = Clock::now();
          const auto refusal = refusal_before_body(req, res);
          if (!refusal) return httplib::Server::HandlerResponse::Unhandled;
          send_error(res, *refusal);
          if (req.path == "/") add_original_api_refusal(res);
          res.set_header("Connection", "close");
          BoundedServer::close_after_this_request();
          return httplib::Server::HandlerResponse::Handled;
        }));
    // Set without SO_REUSEPORT (httplib's default), which let a second server listen on a port in use
    // and take half of its requests.
    http.set_socket_options([](socket_t sock) {
      int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });

    const std::vector<std::string> api_types = {"application/json", "multipart/form-data"};
    route("GET", "/healthz", {}, [this](const httplib::Request& req, httplib::Response& res) {
      guarded(req, res, false, [&] { send_json(res, 200, {{"status", "ok"}}); });
    });
    route("GET", "/readyz", {}, [this](const httplib::Request& req, httplib::Response& res) {
      guarded(req, res, false, [&] {
        if (draining || withdrawn) throw HttpError(503, "overloaded", "shutting down");
        if (!ready) throw HttpError(503, "overloaded", "warming up");
        send_json(res, 200, {{"status", "ready"}, {"workers", workers}, {"queue", config.queue}});
      });
    });
    route("GET", "/metrics", {}, [this](const httplib::Request& req, httplib::Response& res) {
      guarded(req, res, true,
              [&] { res.set_content(metrics.render(gauges()), "text/plain; version=0.0.4"); });
    });
    route("POST", "/verify", api_types, [this](const httplib::Request& req, httplib::Response& res) {
      guarded(req, res, true, [&] { verify(req, res); });
    });
    route("POST", "/detect", api_types, [this](const httplib::Request& req, httplib::Response& res) {
      guarded(req, res, true, [&] { detect(req, res); });
    });
    route("POST", "/embed", api_types, [this](const httplib::Request& req, httplib::Response& res) {
      guarded(req, res, true, [&] { embed(req, res); });
    });
    // The gallery (issue 13). Subject names are checked by the gallery (400 for anything outside the
    // documented set); a {name} only splits the path.
    route("POST", "/subjects/{subject}/faces", api_types,
          [this](const httplib::Request& req, httplib::Response& res) {
            guarded(req, res, true, [&] { enrol(req, res, req.matches[1]); });
          });
    route("GET", "/subjects", {}, [this](const httplib::Request& req, httplib::Response& res) {
      guarded(req, res, true, [&] { list_subjects(req, res); });
    });
    route("GET", "/subjects/{subject}", {}, [this](const httplib::Request& req, httplib::Response& res) {
      guarded(req, res, true, [&] { get_subject(res, req.matches[1]); });
    });
    route("DELETE", "/subjects/{subject}", {}, [this](const httplib::Request& req, httplib::Response& res) {
      guarded(req, res, true, [&] { delete_subject(res, req.matches[1]); });
    });
    route("DELETE", "/subjects/{subject}/faces/{face_id}", {},
          [this](const httplib::Request& req, httplib::Response& res) {
            guarded(req, res, true, [&] { delete_face(res, req.matches[1], req.matches[2]); });
          });
    route("POST", "/identify", api_types, [this](const httplib::Request& req, httplib::Response& res) {
      guarded(req, res, true, [&] { identify(req, res); });
    });
    // Its clients post JSON; text/plain and a missing type are what browsers and bare clients send
    // without a preflight, so they are read as JSON too.
    route("POST", "/", {"application/json", "text/plain", ""},
          [this](const httplib::Request& req, httplib::Response& res) {
            guarded(req, res, true, [&] { legacy(req, res); });
            add_original_api_refusal(res);
          });
    // Preflight for any path: the path's methods, and the headers the API reads (the key among them).
    http.Options(".*", [this](const httplib::Request& req, httplib::Response& res) {
      res.status = 204;
      if (config.cors_origin.empty()) return;
      std::string methods = "GET,POST";
      for (const auto& m : methods_of(req.path))
        if (m != "GET" && m != "POST") {
          methods += ',';
          methods += m;
        }
      res.set_header("Access-Control-Allow-Methods", methods);
      res.set_header("Access-Control-Allow-Headers", "Content-Type, x-api-key, Authorization");
      res.set_header("Access-Control-Max-Age", "3600");
    });
    // The browser page (issue 4); open like any static page, the API calls it makes need the key. Its
    // paths are in the route table (GET only) so that other methods on them are 405 too.
    routes.push_back({std::regex("/"), "GET", {}, "/"});
    for (const auto& asset : web_assets())
      routes.push_back({std::regex(regex_escape("/", asset.path)), "GET", {}, std::string("/").append(asset.path)});
    http.Get("/(.*)", [](const httplib::Request& req, httplib::Response& res) {
      std::string_view path = req.path;
      path.remove_prefix(1);
      if (path.empty()) path = "index.html";
      for (const auto& asset : web_assets()) {
        if (asset.path == path) {
          res.set_content(std::string(asset.body), std::string(asset.content_type).c_str());
          res.set_header("Cache-Control", "no-cache");
          return;
        }
      }
      send_error(res, {404, "not_found", "no such page: " + req.path});
    });

    // Answers httplib produced itself (no route, body over the limit, unreadable request) get the
    // same JSON error shape; answers with a body already have it.
    http.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req,
                                                                   httplib::Response& res) {
      if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
      switch (res.status) {
        case 404:
          send_error(
              res, {404, "not_found", "no route " + req.method + " " + req.path + " (see README: Service)"});
          break;
        case 405:
          send_error(res, {405, "method_not_allowed", "method not allowed"});
          break;
        case 413:
          send_error(res,
                     {413, "body_too_large", "the request body is over the server's limit (--max-body-mb)"});
          break;
        case 414:
        case 400:
          send_error(res, {res.status, "bad_request", "malformed HTTP request"});
          break;
        default:
          if (res.status >= 500) {
            send_error(res, {500, "internal", "internal error; the server log has details"});
          } else {
            send_error(res, {res.status, "bad_request", "the request could not be handled"});
          }
      }
      if (req.path == "/") add_original_api_refusal(res);
      return httplib::Server::HandlerResponse::Handled;
    }));
    http.set_exception_handler(
        [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
          try {
            std::rethrow_exception(ep);
          } catch (const std::exception& e) {
            spdlog::error("{} {}: {}", req.method, req.path, e.what());
          } catch (...) {
            spdlog::error("{} {}: unknown exception", req.method, req.path);
          }
          send_error(res, {500, "internal", "internal error; the server log has details"});
        });
    // Called once per answer, errors included, just before it is written (so a client that reads
    // /metrics right after its answer sees itself counted): the one place requests are counted and logged.
    http.set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      const double seconds = request_started == Clock::time_point{} ? 0.0 : seconds_since(request_started);
      request_started = {};
      add_cors(req, res);
      metrics.count_request(req.method, req.path, res.status, seconds);
      // Never the body: it holds images.
      spdlog::info("{} {} {} {:.1f} ms {} B", req.method, req.path, res.status, seconds * 1000,
                   body_bytes(req));
    });
  }
};

Service::Service(std::shared_ptr<const Models> models, ServerConfig config)
    : impl_(std::make_unique<Impl>(std::move(models), std::move(config))) {}

Service::~Service() = default;

std::vector<RouteDescription> Service::routes() const {
  std::vector<RouteDescription> out;
  for (const auto& r : impl_->routes) out.push_back({r.method, r.path});
  return out;
}

namespace {

// Why binding `host`:`port` fails, from a bind of our own (httplib only says that it failed).
std::string bind_failure(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0 || !found)
    return "cannot resolve the address";
  std::string why = "unknown reason";
  const int fd = ::socket(found->ai_family, found->ai_socktype, found->ai_protocol);
  if (fd >= 0) {
    int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (::bind(fd, found->ai_addr, found->ai_addrlen) != 0) {
      why = errno == EADDRINUSE ? "address in use (another process listens on it)" : std::strerror(errno);
    }
    ::close(fd);
  }
  ::freeaddrinfo(found);
  return why;
}

}  // namespace

int Service::bind() {
  auto& c = impl_->config;
  int port = c.port;
  if (port < 0 || port > 65535)
    throw Error(ErrorCode::invalid_argument, "--port must be 0 (any free port) to 65535");
  if (port == 0) {
    port = impl_->http.bind_to_any_port(c.bind);
    if (port < 0) throw Error(ErrorCode::io_error, "cannot listen on " + c.bind + " (any port)");
  } else if (!impl_->http.bind_to_port(c.bind, port)) {
    throw Error(ErrorCode::io_error, "cannot listen on " + c.bind + ":" + std::to_string(port) + ": " +
                                         bind_failure(c.bind, port) + "; --port 0 picks a free port");
  }
  c.port = port;
  return port;
}

void Service::run() { impl_->http.listen_after_bind(); }

void Service::warm_up() {
  impl_->verifier.warm_up(impl_->config.pipeline);
  // The gallery's faces are loaded now rather than by the first search; a gallery that cannot be read
  // does not keep the service from answering everything else (its routes answer 503 and retry).
  if (impl_->gallery) {
    try {
      impl_->gallery->sync();
      spdlog::info("gallery {} ({}): {} subjects, {} faces", impl_->gallery->store().describe(),
                   impl_->gallery->store().kind(), impl_->gallery->subject_count(),
                   impl_->gallery->face_count());
    } catch (const Error& e) {
      spdlog::warn("gallery {} unavailable: {}", impl_->gallery->store().describe(), e.what());
    }
  }
  impl_->ready = true;
}

void Service::withdraw() { impl_->withdrawn = true; }

void Service::shutdown() {
  impl_->draining = true;
  impl_->ready = false;
  impl_->http.stop();
}

std::vector<std::string> read_api_keys(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorCode::io_error, "cannot read the API key file " + path);
  std::vector<std::string> keys;
  std::size_t number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    // A '#' starts a comment at the line's start or after whitespace; keys hold no whitespace, so a
    // '#' inside a key (`ab#cd`) stays part of it.
    for (std::size_t at = line.find('#'); at != std::string::npos; at = line.find('#', at + 1)) {
      if (at == 0 || std::isspace(static_cast<unsigned char>(line[at - 1]))) {
        line.erase(at);
        break;
      }
    }
    line = trim(line);
    if (line.empty()) continue;
    if (std::any_of(line.begin(), line.end(), [](unsigned char c) { return std::isspace(c); }))
      throw Error(ErrorCode::invalid_argument,
                  "the API key file " + path + " line " + std::to_string(number) +
                      " holds more than one word; write one key per line (comments start with ' #')");
    keys.push_back(line);
  }
  if (keys.empty()) throw Error(ErrorCode::invalid_argument, "the API key file " + path + " holds no key");
  return keys;
}

std::vector<std::string> split_api_keys(const std::string& list) { return split_list(list); }

}  // namespace facematch::server
