// Median decode time of large JPEGs at full size and with reduced decoding (docs/speed.md "Reduced
// decoding"), printed as one JSON object for bench/run.sh. Not a test: nothing here passes or fails.
//
//   facematch_decode_bench N MIN_SIDE IMAGE...
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "facematch/image.hpp"
#include "median.hpp"

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
    rows.push_back(
        {{"image", std::string(argv[i])},
         {"width", reduced.original.width},
         {"height", reduced.original.height},
         {"scale", scale},
         {"full_ms", facematch::bench::median_ms(n, [&] { (void)facematch::decode_image_scaled(bytes, 1); })},
         {"reduced_ms",
          facematch::bench::median_ms(n, [&] { (void)facematch::decode_image_scaled(bytes, scale); })}});
  }
  std::cout << nlohmann::json{{"min_side", min_side}, {"n", n}, {"images", rows}}.dump() << '\n';
}
