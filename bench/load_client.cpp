// Load client for `facematch serve` (bench/load.sh drives it): posts the same /verify request from N
// keep-alive connections and reports throughput, latency percentiles, statuses and the server's RSS.
//
//   facematch_load --port P --img1 A.jpg --img2 B.jpg [--pixels 307200] [--concurrency 4]
//                  [--requests 200] [--pid SERVER_PID] [--api-key KEY]
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "bench_photo.hpp"
#include "keep_alive_clients.hpp"

namespace {

std::string base64(const std::vector<unsigned char>& bytes) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    for (int s : {18, 12, 6, 0}) out += alphabet[(v >> s) & 63];
  }
  if (i < bytes.size()) {
    const bool two = i + 1 < bytes.size();
    const unsigned v = (bytes[i] << 16) | (two ? bytes[i + 1] << 8 : 0);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += two ? alphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string photo(const std::string& path, double pixels, int& width, int& height) {
  return base64(facematch::bench::jpeg_of_about(path, pixels, width, height));
}

long rss_kib(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(std::min<double>(v.size() - 1, std::ceil(p * v.size()) - 1));
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  int port = 8080, concurrency = 4, requests = 200, pid = 0;
  double pixels = 640 * 480;
  std::string img1, img2, api_key;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--port")
      port = std::stoi(value);
    else if (flag == "--img1")
      img1 = value;
    else if (flag == "--img2")
      img2 = value;
    else if (flag == "--pixels")
      pixels = std::stod(value);
    else if (flag == "--concurrency")
      concurrency = std::stoi(value);
    else if (flag == "--requests")
      requests = std::stoi(value);
    else if (flag == "--pid")
      pid = std::stoi(value);
    else if (flag == "--api-key")  // a server started with API keys on, as deployments run it
      api_key = value;
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  int w1 = 0, h1 = 0, w2 = 0, h2 = 0;
  const std::string body =
      nlohmann::json{{"img1", photo(img1, pixels, w1, h1)}, {"img2", photo(img2, pixels, w2, h2)}}.dump();

  httplib::Headers headers;
  if (!api_key.empty()) headers.emplace("Authorization", "Bearer " + api_key);

  const long rss_before = pid ? rss_kib(pid) : -1;
  std::mutex mutex;
  std::vector<double> latencies_ms;
  std::map<int, int> statuses;
  const auto started = std::chrono::steady_clock::now();
  facematch::bench::run_on_keep_alive_clients(
      port, concurrency, static_cast<std::size_t>(requests), [&](httplib::Client& client, std::size_t) {
        const auto t0 = std::chrono::steady_clock::now();
        const auto r = client.Post("/verify", headers, body, "application/json");
        const double ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        std::lock_guard lock(mutex);  // after the request: the clock never measures the wait for it
        latencies_ms.push_back(ms);
        ++statuses[r ? r->status : -1];
      });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const long rss_after = pid ? rss_kib(pid) : -1;

  std::string status_text;
  for (const auto& [s, n] : statuses)
    status_text.append(" ").append(std::to_string(s)).append(":").append(std::to_string(n));
  std::printf(
      "concurrency %2d  requests %5d  %6.1f verifications/s  p50 %7.1f ms  p99 %7.1f ms  statuses%s  "
      "(images %dx%d, %dx%d, body %zu KB)",
      concurrency, requests, statuses[200] / seconds, percentile(latencies_ms, 0.5),
      percentile(latencies_ms, 0.99), status_text.c_str(), w1, h1, w2, h2, body.size() / 1000);
  if (pid) std::printf("  RSS %ld -> %ld KiB", rss_before, rss_after);
  std::printf("\n");
  return statuses[200] == requests ? 0 : 1;
}
