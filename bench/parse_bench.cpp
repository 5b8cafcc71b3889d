// Time to parse the original cloud function's request: {"truth": [[[[b, g, r], ...]]], "check": ...},
// two 1x224x224x3 float arrays as numpy writes them (~1.7 MB of JSON). Issue 3 asks for under 5 ms.
// Printed as one JSON object for bench/run.sh; not a test: nothing here passes or fails.
//
//   facematch_parse_bench IMAGE_A IMAGE_B [N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "server/request_parse.hpp"

namespace {

// numpy's json of a float array: every value written with a ".0", nested batch/row/pixel lists.
std::string numpy_json_of(const std::string& path) {
  const cv::Mat read = cv::imread(path, cv::IMREAD_COLOR);
  if (read.empty()) throw std::runtime_error("cannot read " + path);
  cv::Mat bgr;
  cv::resize(read, bgr, cv::Size(224, 224));
  std::string text = "[[";
  for (int y = 0; y < bgr.rows; ++y) {
    text += y ? ", [" : "[";
    for (int x = 0; x < bgr.cols; ++x) {
      const auto& p = bgr.at<cv::Vec3b>(y, x);
      text += (x ? ", [" : "[") + std::to_string(p[0]) + ".0, " + std::to_string(p[1]) + ".0, " +
              std::to_string(p[2]) + ".0]";
    }
    text += "]";
  }
  return text + "]]";
}

double thread_cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: facematch_parse_bench IMAGE_A IMAGE_B [N]\n";
    return 2;
  }
  const int n = argc > 3 ? std::stoi(argv[3]) : 50;
  const std::string body =
      R"({"truth": )" + numpy_json_of(argv[1]) + R"(, "check": )" + numpy_json_of(argv[2]) + "}";
  std::vector<double> cpu, wall;
  for (int i = 0; i <= n; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = thread_cpu_ms();
    const auto request = facematch::server::parse_legacy_request(body, 40'000'000);
    if (request.check.cols != 224) throw std::runtime_error("parse gave a wrong shape");
    if (i == 0) continue;  // warm-up
    cpu.push_back(thread_cpu_ms() - cpu_start);
    wall.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(cpu.begin(), cpu.end());
  std::sort(wall.begin(), wall.end());
  std::printf(R"({"bytes": %zu, "n": %d, "cpu_ms_median": %.3f, "wall_ms_median": %.3f, "cpu_ms_best": %.3f})"
              "\n",
              body.size(), n, cpu[cpu.size() / 2], wall[wall.size() / 2], cpu.front());
}
