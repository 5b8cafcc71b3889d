// Timing shared by the benchmarks.
#pragma once

#include <algorithm>
#include <chrono>
#include <vector>

namespace facematch::bench {

// Median wall time of `n` calls of f, in ms, after one warm-up call (first runs page in weights, JIT
// kernels and buffers).
template <typename F>
double median_ms(int n, F&& f) {
  f();
  std::vector<double> times;
  for (int i = 0; i < n; ++i) {
    const auto t = std::chrono::steady_clock::now();
    f();
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace facematch::bench
