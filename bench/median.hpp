// Timing shared by the benchmarks.
#pragma once

#include <algorithm>
#include <chrono>
#include <ctime>
#include <utility>
#include <vector>

namespace facematch::bench {

// The middle value (the upper one of an even count).
inline double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

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
  return median(std::move(times));
}

// Median CPU time of the whole process (every thread) per call of f, in ms, after one warm-up call: what
// one call costs a machine whatever else runs on it.
template <typename F>
double median_process_cpu_ms(int n, F&& f) {
  const auto cpu_ms = [] {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
  };
  f();
  std::vector<double> times;
  for (int i = 0; i < n; ++i) {
    const double t = cpu_ms();
    f();
    times.push_back(cpu_ms() - t);
  }
  return median(std::move(times));
}

}  // namespace facematch::bench
