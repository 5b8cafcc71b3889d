// `info`: what this machine gives the nets: CPU, oneDNN's instruction set, threads, and the precision
// each net runs in (under auto, measured here or read from the cache, with the times).
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include "cli/common.hpp"
#include "engine/executor.hpp"
#include "models/precision_choice.hpp"
#include "report/json_report.hpp"

namespace facematch::cli {
namespace {

struct InfoArgs {
  std::optional<std::string> models_dir;
  std::string precision{to_string(recommended_pipeline().precision)};
  int threads = 0;
  bool json = false;
};

int run_info(const InfoArgs& a) {
  const Precision precision = resolve_precision(parse_precision(a.precision));
  // The CLI's commands run one call at a time with every core (Verifier with one worker).
  const int threads = a.threads > 0 ? a.threads : std::max(1, engine::available_cores());
  engine::set_threads_for_this_thread(threads);
  const auto models =
      Models::load(
          locate_models(a.models_dir ? std::optional<std::filesystem::path>(*a.models_dir) : std::nullopt))
          ->with_precision(precision);
  const auto nets = models->prepare_nets();
  const auto machine = models::this_machine();
  const auto cache = precision_cache_file();
  if (a.json) {
    nlohmann::json j = {
        {"cpu", machine.cpu},
        {"cores", machine.cores},
        {"onednn", machine.onednn},
        {"isa", engine::cpu_isa_name()},
        {"native_bf16", engine::cpu_has_native_bf16()},
        {"native_int8", engine::cpu_has_native_int8()},
        {"threads", threads},
        {"precision", to_string(precision)},
        {"precision_cache", cache.empty() ? nlohmann::json(nullptr) : nlohmann::json(cache.string())},
        {"nets", report::nets_json(nets)}};
    std::cout << j.dump(2) << '\n';
    return 0;
  }
  std::printf("cpu        %s, %d cores\n", machine.cpu.c_str(), machine.cores);
  std::printf("onednn     %s, ISA %s (native bf16: %s, native int8: %s)\n", machine.onednn.c_str(),
              engine::cpu_isa_name().c_str(), engine::cpu_has_native_bf16() ? "yes" : "no",
              engine::cpu_has_native_int8() ? "yes" : "no");
  std::printf("threads    %d per call\n", threads);
  std::printf("precision  %s\n", std::string(to_string(precision)).c_str());
  std::printf("cache      %s\n", cache.empty() ? "(none: set FACEMATCH_CACHE_DIR)" : cache.c_str());
  std::printf("\n%-30s %-9s %9s %9s %9s\n", "net", "runs in", "fp32 ms", "bf16 ms", "int8 ms");
  for (const auto& n : nets) {
    std::printf("%-30s %-9s", n.net.c_str(), std::string(to_string(n.precision)).c_str());
    for (const auto p : {Precision::fp32, Precision::bf16, Precision::int8}) {
      const auto it = n.measured_ms.find(p);
      if (it == n.measured_ms.end())
        std::printf(" %9s", "-");
      else
        std::printf(" %9.3f", it->second);
    }
    std::printf("%s\n", n.measured_ms.empty() ? "  (no choice)"
                        : n.from_cache        ? "  (cached)"
                                              : "  (measured now)");
  }
  return 0;
}

}  // namespace

void add_info_commands(CLI::App& app, CommandTable& commands) {
  auto args = std::make_shared<InfoArgs>();
  auto* info = app.add_subcommand(
      "info",
      "Show the CPU, oneDNN's instruction set, threads and the precision each net runs in (auto: "
      "the fastest its accuracy gate allows, measured on this CPU and cached)");
  info->add_option("--models", args->models_dir,
                   "Models folder (default: $FACEMATCH_MODELS or the installed one)");
  info->add_option("--precision", args->precision, "auto, fp32, bf16 or int8")->capture_default_str();
  info->add_option("--threads", args->threads, "oneDNN threads per call (0 = every core, as the CLI runs)");
  info->add_flag("--json", args->json, "One JSON object");
  commands.push_back(
      {info, [args] { return with_json_errors(args->json, [&] { return run_info(*args); }); }});
}

}  // namespace facematch::cli
