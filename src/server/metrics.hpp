// Prometheus text-format metrics, written by hand (prometheus-cpp is not packaged in Debian 12).
// Label sets are closed (known routes and stages only) so a scan of random paths cannot grow them.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "facematch/verifier.hpp"

namespace facematch::server {

class Histogram {
 public:
  // Upper bounds in seconds, from 1 ms (one recognition net) to 10 s (a queued large image).
  static constexpr std::array<double, 14> kBounds = {0.001, 0.0025, 0.005, 0.01, 0.02, 0.035, 0.05,
                                                     0.075, 0.1,    0.25,  0.5,  1,    2.5,   10};
  void observe(double seconds);
  // Appends the _bucket/_sum/_count lines of `name` with `labels` (e.g. `stage="detect"`).
  void render(std::string& out, std::string_view name, std::string_view labels) const;

 private:
  std::array<std::uint64_t, kBounds.size()> counts_{};  // per bucket, cumulated when rendered
  std::uint64_t count_ = 0;
  double sum_ = 0;
};

struct Gauges {
  std::size_t in_flight = 0, queued = 0, running = 0, workers = 0, queue_capacity = 0;
  bool ready = false, draining = false;
  std::vector<NetPrecision> nets;  // what each net runs in, and what automatic measured
};

// What the service runs, as labels of the constant facematch_info metric.
struct ServiceInfo {
  std::string model, precision, detector, align;
};

class Metrics {
 public:
  explicit Metrics(ServiceInfo info) : info_(std::move(info)) {}
  // `route` is one of the service's routes or "other"; anything else is counted as "other".
  void count_request(std::string_view method, std::string_view route, int status, double seconds);
  void observe_stages(const StageTimes& times);
  void observe_total(double seconds);  // one inference (decode + analysis of every image of a request)
  void add_faces(std::size_t faces);
  std::string render(const Gauges& gauges) const;

 private:
  const ServiceInfo info_;
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;  // (method route, status)
  std::map<std::string, Histogram> route_seconds_;
  std::array<Histogram, 5> stage_seconds_;  // decode, detect, landmarks, align, embed
  Histogram inference_seconds_;
  std::uint64_t faces_ = 0;
};

// The label value used for `path`: the route itself when it is one of ours, else "other".
std::string_view route_label(std::string_view path);

}  // namespace facematch::server
