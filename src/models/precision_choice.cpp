#include "models/precision_choice.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <dnnl.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

namespace facematch::models {
namespace {

using Clock = std::chrono::steady_clock;

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        auto name = line.substr(colon + 1);
        name.erase(0, name.find_first_not_of(' '));
        return name;
      }
    }
  return engine::cpu_isa_name();
}

std::string key_text(const MachineKey& m) { return m.cpu + "|" + std::to_string(m.cores) + "|" + m.onednn; }

// FNV-1a: a file name that stays the same across compilers and runs (std::hash need not).
std::string short_hash(const std::string& text) {
  std::uint64_t h = 1469598103934665603ull;
  for (const unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int shift = 60; shift >= 0; shift -= 4) out += kHex[(h >> shift) & 15];
  return out;
}

std::filesystem::path cache_folder() {
  const auto env = [](const char* name) -> std::string {
    const char* v = std::getenv(name);
    return v ? v : "";
  };
  if (const auto dir = env("FACEMATCH_CACHE_DIR"); !dir.empty()) return dir;
  if (const auto xdg = env("XDG_CACHE_HOME"); !xdg.empty()) return std::filesystem::path(xdg) / "facematch";
  if (const auto home = env("HOME"); !home.empty())
    return std::filesystem::path(home) / ".cache" / "facematch";
  return {};
}

// On one thread, the thread's CPU time: what a run costs when the core is not taken by another process,
// so a burst of load elsewhere on a shared machine does not decide the choice. With more threads the
// wall time, the only measure of a team (CPU time would count its threads' spinning).
double now_ms(bool cpu_time) {
  if (cpu_time) {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
  }
  return std::chrono::duration<double, std::milli>(Clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

MachineKey this_machine() {
  const auto v = dnnl::version();
  return {cpu_model_name(), engine::available_cores(),
          std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch)};
}

std::filesystem::path precision_cache_file(const MachineKey& machine) {
  const auto folder = cache_folder();
  if (folder.empty()) return {};
  return folder / ("precision-" + short_hash(key_text(machine)) + ".json");
}

ChoiceTable read_choice_cache(const std::filesystem::path& file, const MachineKey& machine) {
  ChoiceTable table;
  std::ifstream in(file);
  if (!in) return table;
  try {
    const auto j = nlohmann::json::parse(in);
    const auto& m = j.at("machine");
    if (j.at("version") != 1 || m.at("cpu") != machine.cpu || m.at("cores") != machine.cores ||
        m.at("onednn") != machine.onednn)
      return table;
    for (const auto& entry : j.at("nets")) {
      MeasuredChoice choice;
      choice.chosen = parse_precision(entry.at("chosen").get<std::string>());
      for (const auto& [name, ms] : entry.at("median_ms").items()) {
        const double value = ms.get<double>();
        if (!(value > 0) || !std::isfinite(value)) throw std::runtime_error("bad time");
        choice.median_ms[parse_precision(name)] = value;
      }
      if (!choice.median_ms.contains(choice.chosen) || !choice.median_ms.contains(Precision::fp32)) continue;
      table[{entry.at("net").get<std::string>(), entry.at("threads").get<int>()}] = std::move(choice);
    }
  } catch (const std::exception&) {  // JSON errors and facematch::Error from parse_precision alike
    return {};
  }
  return table;
}

bool write_choice_cache(const std::filesystem::path& file, const MachineKey& machine,
                        const ChoiceTable& table) {
  nlohmann::json nets = nlohmann::json::array();
  for (const auto& [key, choice] : table) {
    nlohmann::json times = nlohmann::json::object();
    for (const auto& [p, ms] : choice.median_ms) times[std::string(to_string(p))] = ms;
    nets.push_back({{"net", key.first},
                    {"threads", key.second},
                    {"chosen", to_string(choice.chosen)},
                    {"median_ms", times}});
  }
  const nlohmann::json j = {
      {"version", 1},
      {"machine", {{"cpu", machine.cpu}, {"cores", machine.cores}, {"onednn", machine.onednn}}},
      {"nets", std::move(nets)}};
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  auto temporary = file;
  temporary += ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(temporary, std::ios::trunc);
    if (!(out << j.dump(1) << "\n")) {
      std::filesystem::remove(temporary, ec);
      return false;
    }
  }
  std::filesystem::rename(temporary, file, ec);
  if (ec) std::filesystem::remove(temporary, ec);
  return !ec;
}

Precision fastest_precision(const std::map<Precision, double>& median_ms) {
  const double fp32 = median_ms.at(Precision::fp32);
  Precision best = Precision::fp32;
  double best_ms = fp32 * kRequiredSpeedup;
  for (const auto& [p, ms] : median_ms)
    if (ms < best_ms) best = p, best_ms = ms;
  return best;
}

std::map<Precision, double> time_candidates(
    const std::vector<std::pair<Precision, engine::NetRunner*>>& runners, double budget_ms) {
  std::mt19937 random(15);
  std::uniform_real_distribution<float> uniform(-1.f, 1.f);
  for (const auto& [p, runner] : runners) {
    for (float& x : runner->input()) x = uniform(random);
    runner->run();  // warm-up: page in the weights and JIT code
  }
  std::map<Precision, std::vector<double>> times;
  const bool cpu_time = engine::threads_for_this_thread() == 1;
  const auto started = Clock::now();
  for (int round = 0; round < kMaxRounds; ++round) {
    if (round >= kMinRounds &&
        std::chrono::duration<double, std::milli>(Clock::now() - started).count() > budget_ms)
      break;
    for (const auto& [p, runner] : runners) {
      const double t = now_ms(cpu_time);
      runner->run();
      times[p].push_back(now_ms(cpu_time) - t);
    }
  }
  std::map<Precision, double> medians;
  for (const auto& [p, t] : times) medians[p] = median(t);
  return medians;
}

}  // namespace facematch::models
