// Median decode time of large JPEGs at full size and with reduced decoding (README "Reduced decoding"),
// printed as one JSON object for bench/run.sh. Not a test: nothing here passes or fails.
//
//   facematch_decode_bench N MIN_SIDE IMAGE...
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "facematch/image.hpp"

namespace {

double median_decode_ms(const std::vector<std::uint8_t>& bytes, int scale, int n) {
  std::vector<double> times;
  for (int i = 0; i <= n; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const auto image = facematch::decode_image_scaled(bytes, scale);
    if (i > 0)  // the first run is a warm-up
      times.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: facematch_decode_bench N MIN_SIDE IMAGE...\n";
    return 2;
  }
  const int n = std::stoi(argv[1]), min_side = std::stoi(argv[2]);
  nlohmann::json rows = nlohmann::json::array();
  for (int i = 3; i < argc; ++i) {
    const auto bytes = facematch::read_image_bytes(argv[i]);
    const int scale = facematch::reduced_decode_scale(bytes, min_side);
    const auto reduced = facematch::decode_image_scaled(bytes, scale);
    rows.push_back({{"image", std::string(argv[i])},
                    {"width", reduced.original.width},
                    {"height", reduced.original.height},
                    {"scale", scale},
                    {"full_ms", median_decode_ms(bytes, 1, n)},
                    {"reduced_ms", median_decode_ms(bytes, scale, n)}});
  }
  std::cout << nlohmann::json{{"min_side", min_side}, {"n", n}, {"images", rows}}.dump() << '\n';
}
