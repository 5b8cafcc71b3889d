#include "server/metrics.hpp"

#include <cstdio>

namespace facematch::server {
namespace {

constexpr std::array<std::string_view, 5> kStages = {"decode", "detect", "landmarks", "align", "embed"};

void append_number(std::string& out, double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.9g", v);
  out += buffer;
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void gauge(std::string& out, std::string_view name, std::string_view help, double value) {
  header(out, name, "gauge", help);
  out.append(name).append(" ");
  append_number(out, value);
  out += '\n';
}

std::string label(std::string_view name, std::string_view value) {
  std::string s;
  s.append(name).append("=\"").append(value).append("\"");
  return s;
}

}  // namespace

void Histogram::observe(double seconds) {
  for (std::size_t i = 0; i < kBounds.size(); ++i) {
    if (seconds <= kBounds[i]) {
      ++counts_[i];
      break;
    }
  }
  ++count_;
  sum_ += seconds;
}

void Histogram::render(std::string& out, std::string_view name, std::string_view labels) const {
  const std::string sep = labels.empty() ? "" : ",";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kBounds.size(); ++i) {
    cumulative += counts_[i];
    out.append(name).append("_bucket{").append(labels).append(sep).append("le=\"");
    append_number(out, kBounds[i]);
    out.append("\"} ").append(std::to_string(cumulative)).append("\n");
  }
  out.append(name).append("_bucket{").append(labels).append(sep).append("le=\"+Inf\"} ");
  out.append(std::to_string(count_)).append("\n");
  std::string braces;
  if (!labels.empty()) braces.append("{").append(labels).append("}");
  out.append(name).append("_sum").append(braces).append(" ");
  append_number(out, sum_);
  out.append("\n").append(name).append("_count").append(braces).append(" ");
  out.append(std::to_string(count_)).append("\n");
}

std::string_view route_label(std::string_view path) {
  for (std::string_view r : {"/", "/verify", "/detect", "/embed", "/healthz", "/readyz", "/metrics"})
    if (path == r) return r;
  return "other";
}

void Metrics::count_request(std::string_view method, std::string_view route, int status, double seconds) {
  const auto label = route_label(route);
  std::lock_guard lock(mutex_);
  std::string key(method);
  key.append(" ").append(label);
  ++requests_[{std::move(key), status}];
  route_seconds_[std::string(label)].observe(seconds);
}

void Metrics::observe_stages(const StageTimes& t) {
  const std::array<double, 5> ms = {t.decode_ms, t.detect_ms, t.landmarks_ms, t.align_ms, t.embed_ms};
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < ms.size(); ++i) stage_seconds_[i].observe(ms[i] / 1000);
}

void Metrics::observe_total(double seconds) {
  std::lock_guard lock(mutex_);
  inference_seconds_.observe(seconds);
}

void Metrics::add_faces(std::size_t faces) {
  std::lock_guard lock(mutex_);
  faces_ += faces;
}

std::string Metrics::render(const Gauges& g) const {
  std::string out;
  out.reserve(16384);
  std::lock_guard lock(mutex_);
  header(out, "facematch_http_requests_total", "counter",
         "HTTP requests answered, by method, route and status.");
  for (const auto& [key, count] : requests_) {
    const auto space = key.first.find(' ');
    out.append("facematch_http_requests_total{method=\"").append(key.first.substr(0, space));
    out.append("\",route=\"").append(key.first.substr(space + 1)).append("\",status=\"");
    out.append(std::to_string(key.second)).append("\"} ").append(std::to_string(count)).append("\n");
  }
  header(out, "facematch_http_request_duration_seconds", "histogram",
         "Time from the request being read to the answer being ready, by route.");
  for (const auto& [route, h] : route_seconds_)
    h.render(out, "facematch_http_request_duration_seconds", label("route", route));
  header(out, "facematch_stage_duration_seconds", "histogram",
         "Time per pipeline stage and image (decode, detect, landmarks, align, embed).");
  for (std::size_t i = 0; i < kStages.size(); ++i)
    stage_seconds_[i].render(out, "facematch_stage_duration_seconds", label("stage", kStages[i]));
  header(out, "facematch_inference_duration_seconds", "histogram",
         "Time a request holds an inference worker (every image of the request).");
  inference_seconds_.render(out, "facematch_inference_duration_seconds", "");
  header(out, "facematch_faces_detected_total", "counter", "Faces found in analysed images.");
  out.append("facematch_faces_detected_total ").append(std::to_string(faces_)).append("\n");
  gauge(out, "facematch_in_flight_requests", "Inference requests admitted (running or queued).",
        static_cast<double>(g.in_flight));
  gauge(out, "facematch_queue_depth", "Admitted inference requests waiting for a worker.",
        static_cast<double>(g.queued));
  gauge(out, "facematch_workers_busy", "Inference workers running a request.",
        static_cast<double>(g.running));
  gauge(out, "facematch_workers", "Inference workers (--workers).", static_cast<double>(g.workers));
  gauge(out, "facematch_queue_capacity", "Requests that may wait for a worker (--queue).",
        static_cast<double>(g.queue_capacity));
  gauge(out, "facematch_ready", "1 when models are loaded and the warm-up inference passed.",
        g.ready ? 1 : 0);
  gauge(out, "facematch_draining",
        "1 after SIGTERM/SIGINT: during --drain-delay and while in-flight requests finish.",
        g.draining ? 1 : 0);
  header(out, "facematch_info", "gauge",
         "Always 1; the labels say which descriptor model, precision (per net: "
         "facematch_net_precision_info), and default "
         "detector and alignment the service runs.");
  out.append("facematch_info{")
      .append(label("model", info_.model))
      .append(",")
      .append(label("precision", info_.precision))
      .append(",")
      .append(label("detector", info_.detector))
      .append(",")
      .append(label("align", info_.align))
      .append("} 1\n");
  // Net keys and precision names are the registry's own, never a request's.
  header(out, "facematch_net_precision_info", "gauge",
         "Always 1, per net and oneDNN thread count: the precision it runs in (under auto, the fastest "
         "allowed one measured on this CPU).");
  for (const auto& n : g.nets)
    out.append("facematch_net_precision_info{")
        .append(label("net", n.net))
        .append(",")
        .append(label("threads", std::to_string(n.threads)))
        .append(",")
        .append(label("precision", to_string(n.precision)))
        .append("} 1\n");
  header(out, "facematch_net_precision_measured_seconds", "gauge",
         "Under auto: median time of one run of the net on one input in each candidate precision.");
  for (const auto& n : g.nets)
    for (const auto& [precision, ms] : n.measured_ms) {
      out.append("facematch_net_precision_measured_seconds{")
          .append(label("net", n.net))
          .append(",")
          .append(label("threads", std::to_string(n.threads)))
          .append(",")
          .append(label("precision", to_string(precision)))
          .append("} ");
      append_number(out, ms / 1e3);
      out += '\n';
    }
  return out;
}

}  // namespace facematch::server
