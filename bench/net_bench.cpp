// Each net alone, per precision and batch size, plus the machine's measured peak (a large oneDNN
// matmul in fp32 and bf16), printed as one JSON object: median ms, GFLOP/s and oneDNN's kernel names.
// The peak puts the per-net GFLOP/s in proportion; nothing here passes or fails.
//
//   facematch_net_bench MODELS_DIR [N] [THREADS]
#include <algorithm>
#include <chrono>
#include <ctime>
#include <dnnl.hpp>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/executor.hpp"
#include "facematch/models.hpp"
#include "models/blazeface_net.hpp"
#include "models/int8_ranges.hpp"
#include "models/landmark68_net.hpp"
#include "models/recognition_net.hpp"
#include "models/ssd_mobilenetv1_net.hpp"
#include "models/tiny_face_detector_net.hpp"
#include "models/weights.hpp"

namespace {

using namespace facematch;
using Clock = std::chrono::steady_clock;

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// Median wall time, and median CPU time of the calling thread: on a shared machine the latter is what
// a 1-thread run costs when it is not preempted (it ignores the time other processes take the core).
struct Timing {
  double wall_ms, cpu_ms;
};

template <typename F>
Timing time_median(int n, F&& f) {
  f();
  f();  // warm-up: page in weights, JIT kernels
  std::vector<double> wall, cpu;
  for (int i = 0; i < n; ++i) {
    const auto t = Clock::now();
    const double c = thread_cpu_ms();
    f();
    cpu.push_back(thread_cpu_ms() - c);
    wall.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  return {wall[wall.size() / 2], cpu[cpu.size() / 2]};
}

// Peak of this machine: a square matmul big enough to be compute bound. int8: u8 x s8 into s32.
double matmul_gflops(dnnl::memory::data_type type, int n_runs, int threads) {
  using namespace dnnl;
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  stream s(eng);
  const memory::dim m = 1024, k = 1024, n = 1024;
  const bool int8 = type == memory::data_type::u8;
  memory::desc a({m, k}, type, memory::format_tag::ab),
      b({k, n}, int8 ? memory::data_type::s8 : type, memory::format_tag::ab),
      c({m, n}, int8 ? memory::data_type::s32 : memory::data_type::f32, memory::format_tag::ab);
  matmul::primitive_desc pd(matmul::desc(a, b, c), eng);
  matmul mm(pd);
  memory ma(a, eng), mb(b, eng), mc(c, eng);
  std::fill_n(static_cast<char*>(ma.get_data_handle()), a.get_size(), 0);
  std::fill_n(static_cast<char*>(mb.get_data_handle()), b.get_size(), 0);
  const Timing t = time_median(n_runs, [&] {
    mm.execute(s, {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}});
    s.wait();
  });
  return 2.0 * m * n * k / ((threads == 1 ? t.cpu_ms : t.wall_ms) * 1e6);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: facematch_net_bench MODELS_DIR [N] [THREADS]\n";
    return 2;
  }
  const int n = argc > 2 ? std::stoi(argv[2]) : 20;
  const int threads = argc > 3 ? std::stoi(argv[3]) : 1;
  engine::set_threads_for_this_thread(threads);
  const auto models = Models::load(argv[1]);
  nlohmann::json out = {{"n", n}, {"threads", threads}, {"isa", engine::cpu_isa_name()}};
  out["peak_gflops"]["matmul_f32"] = matmul_gflops(dnnl::memory::data_type::f32, n, threads);
  out["peak_gflops"]["matmul_bf16"] = matmul_gflops(dnnl::memory::data_type::bf16, n, threads);
  out["peak_gflops"]["matmul_int8"] = matmul_gflops(dnnl::memory::data_type::u8, n, threads);

  struct NetCase {
    std::string name;
    std::function<engine::NetDescription()> describe;
    std::vector<int> batches;
  };
  const std::vector<NetCase> nets = {
      {"recognition",
       [&] { return models::describe_recognition_net(models->weights(models::kRecognitionModel)); },
       {1, 2, 4}},
      {"landmark",
       [&] { return models::describe_landmark68_net(models->weights(models::kLandmark68Model)); },
       {1, 2, 4}},
      {"ssd", [&] { return models::describe_ssd_mobilenetv1(models->weights(models::kSsdModel)); }, {1}},
      {"tiny",
       [&] {
         return models::describe_tiny_face_detector(models->weights(models::kTinyFaceDetectorModel), 416);
       },
       {1}},
      // The upright judge runs it on 2 (upright, upside down) or 4 turns of a face.
      {"blazeface",
       [&] {
         return models::describe_blazeface(models->weights(models::kBlazeFaceModel),
                                           models::kUprightJudgeInputSize);
       },
       {1, 2, 4}},
  };
  for (const auto& net : nets) {
    // int8 where the net has a calibration (its ranges are built in).
    const auto description = net.describe();
    std::vector<engine::DataType> types = {engine::DataType::f32, engine::DataType::bf16};
    if (models::has_builtin_int8_ranges(description.name())) types.push_back(engine::DataType::int8);
    for (const auto type : types) {
      const std::string tname = type == engine::DataType::f32    ? "fp32"
                                : type == engine::DataType::bf16 ? "bf16"
                                                                 : "int8";
      for (const int batch : net.batches) {
        auto compiled = std::make_shared<const engine::CompiledNet>(
            description, batch, type,
            type == engine::DataType::int8 ? models::builtin_int8_ranges(description) : std::vector<float>{});
        engine::NetRunner runner(compiled);
        const auto& s = compiled->description().shape(0);
        const std::vector<float> input(static_cast<std::size_t>(batch) * s.h * s.w * s.c, 0.25f);
        const Timing t = time_median(n, [&] { runner.run(input); });
        // With one thread the thread's CPU time is the figure least disturbed by other processes.
        const double ms = threads == 1 ? t.cpu_ms : t.wall_ms;
        auto& row = out["nets"][net.name][tname][std::to_string(batch)];
        row["wall_ms"] = t.wall_ms;
        row["ms"] = ms;
        row["ms_per_item"] = ms / batch;
        row["gflop_per_item"] = compiled->description().flops_per_item() / 1e9;
        row["gflops"] = compiled->description().flops_per_item() * batch / (ms * 1e6);
        if (batch == 1) {
          std::map<std::string, int> kernels;
          for (const auto& k : compiled->implementations()) ++kernels[k];
          row["kernels"] = kernels;
        }
      }
    }
  }
  std::cout << out.dump() << '\n';
  return 0;
}
