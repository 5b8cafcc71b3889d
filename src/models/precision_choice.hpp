// Precision::automatic's choice per net: time each candidate precision on this CPU, keep the fastest
// that is clearly faster than fp32, and remember the result on disk so later processes skip the timing.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/executor.hpp"
#include "facematch/models.hpp"

namespace facematch::models {

// What the cached timings are valid for: another CPU model, core count or oneDNN version times
// differently, so it gets its own file.
struct MachineKey {
  std::string cpu;     // /proc/cpuinfo "model name", else oneDNN's ISA name
  int cores = 0;       // engine::available_cores()
  std::string onednn;  // "3.1.1"
  bool operator==(const MachineKey&) const = default;
};
MachineKey this_machine();
// precision_cache_file() for `machine` (empty when no cache folder is known).
std::filesystem::path precision_cache_file(const MachineKey& machine);

struct MeasuredChoice {
  Precision chosen = Precision::fp32;
  std::map<Precision, double> median_ms;
};
// Keyed by compiled-net key and oneDNN thread count.
using ChoiceTable = std::map<std::pair<std::string, int>, MeasuredChoice>;

// The entries of `file` written for `machine`; empty if it is missing, unreadable, malformed or for
// another machine. An entry whose choice is not one of its timed precisions, or whose times are not
// positive, is left out.
ChoiceTable read_choice_cache(const std::filesystem::path& file, const MachineKey& machine);
// Writes `table` to `file` (through a temporary file and a rename, so a reader never sees half of it);
// false if that failed, which callers may ignore.
bool write_choice_cache(const std::filesystem::path& file, const MachineKey& machine,
                        const ChoiceTable& table);

// A precision must take less than this share of fp32's time to replace it: differences within timing
// noise keep fp32, the exact one.
inline constexpr double kRequiredSpeedup = 0.95;
// The fastest precision of `median_ms` (which holds fp32), fp32 unless another beats it by the margin.
Precision fastest_precision(const std::map<Precision, double>& median_ms);

// Median ms of one run of each runner (on one thread its CPU time, else wall time), interleaved round by
// round so that a burst of load from elsewhere hits every candidate alike; stops after kMaxRounds rounds or
// once `budget_ms` is spent (at least kMinRounds). The runners must belong to the calling thread's thread
// count.
inline constexpr int kMinRounds = 3, kMaxRounds = 9;
std::map<Precision, double> time_candidates(
    const std::vector<std::pair<Precision, engine::NetRunner*>>& runners, double budget_ms);

}  // namespace facematch::models
