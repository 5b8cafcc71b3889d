// `facematch serve`: the HTTP JSON service over one Verifier. See README "Service" for the API.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "facematch/compare.hpp"
#include "facematch/gallery.hpp"
#include "facematch/operating_point.hpp"
#include "facematch/verifier.hpp"

namespace facematch::server {

struct ServerConfig {
  std::string bind = "127.0.0.1";
  int port = 8080;          // 0: any free port (Service::bind returns it)
  std::size_t workers = 0;  // 0: one per core
  std::size_t queue = 64;
  std::size_t max_body_bytes = 20u * 1024 * 1024;
  std::size_t max_embed_images = 16;
  PipelineOptions pipeline;  // defaults for every request; limits.max_pixels is the pixel limit
  // The original route's alignment: its clients resize whole photos to 224x224 whatever their aspect
  // ratio, which unsquash undoes (README "The original API", docs/original-api.md).
  AlignMode legacy_align = AlignMode::unsquash;
  double threshold = kDefaultThreshold;
  // Where `threshold` came from when it is a calibrated point (--operating-point); answers that use it
  // name it.
  std::optional<ResolvedOperatingPoint> operating_point;
  std::vector<std::string> api_keys;  // empty: no authentication
  // Access-Control-Allow-Origin of every answer: "*" (the original function's), a comma-separated list
  // of origins (the request's Origin is echoed when listed), or empty for no CORS headers.
  std::string cors_origin = "*";
  // The gallery's --gallery location (a file path or a postgresql:// URI); empty: no gallery routes.
  // Nothing is created at start-up: an SQLite file is made by the first enrolment.
  std::string gallery = kDefaultGalleryLocation;
  int read_timeout_s = 10, write_timeout_s = 10;
  int keep_alive_timeout_s = 5;
  std::size_t keep_alive_max_requests = 100;
};

// A route as web/openapi.json describes it: a method and an OpenAPI path template.
struct RouteDescription {
  std::string method;  // GET, POST, DELETE ...
  std::string path;    // /verify, /subjects/{subject}
};

class Service {
 public:
  Service(std::shared_ptr<const Models> models, ServerConfig config);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Binds the listening socket; returns the port (useful with port 0). Throws Error{io_error}.
  int bind();
  // Serves until shutdown(); returns when every accepted request has been answered.
  void run();
  // One inference through every stage; /readyz answers 200 only after it passed.
  void warm_up();
  // The first step of a drain behind a load balancer: /readyz answers 503 while every request is still
  // served, each answer closing its connection, so that the balancer's health check takes this replica
  // out before shutdown() closes the listening socket. Thread-safe.
  void withdraw();
  // Stop accepting, answer 503 to new inference requests, let in-flight ones finish. Thread-safe.
  void shutdown();
  // Every route of the route table (the API, the original route and the page's files), in registration
  // order; OPTIONS preflights are answered on every path and are not listed.
  std::vector<RouteDescription> routes() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Keys from a file: one key per line, surrounding whitespace ignored; '#' at a line's start or after
// whitespace starts a comment (`key-2  # CI`); blank lines are skipped. A line of two words is an
// Error{invalid_argument} naming it, so a comment without '#' never becomes part of a key.
std::vector<std::string> read_api_keys(const std::string& path);
// Keys from a comma-separated list (FACEMATCH_API_KEYS).
std::vector<std::string> split_api_keys(const std::string& list);

}  // namespace facematch::server
