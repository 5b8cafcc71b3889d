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

// Wall time of one call of f, in ms.
template <typename F>
double elapsed_ms(F&& f) {
  const auto t = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

// Median wall time of `n` calls of f, in ms, after one warm-up call (first runs page in weights, JIT
// kernels and buffers).
template <typename F>
double median_ms(int n, F&& f) {
  f();
  std::vector<double> times;
  for (int i = 0; i < n; ++i) times.push_back(elapsed_ms(f));
  return median(std::move(times));
}

// Two variants of one piece of work timed in alternation, so that drift in the machine's speed (another
// process, the clock) falls on both alike: each one's median wall time in ms, and the median of the
// per-round ratios a / b. Timing them one block after the other moved such a ratio by 30% between runs.
struct PairedTimes {
  double a_ms, b_ms, ratio;
};
template <typename A, typename B>
PairedTimes paired_median_ms(int n, A&& a, B&& b) {
  a();
  b();
  std::vector<double> as, bs, ratios;
  for (int i = 0; i < n; ++i) {
    // Alternating which goes first cancels any advantage of running second (warm caches).
    if (i % 2 == 0) {
      as.push_back(elapsed_ms(a));
      bs.push_back(elapsed_ms(b));
    } else {
      bs.push_back(elapsed_ms(b));
      as.push_back(elapsed_ms(a));
    }
    ratios.push_back(as.back() / bs.back());
  }
  return {median(std::move(as)), median(std::move(bs)), median(std::move(ratios))};
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
