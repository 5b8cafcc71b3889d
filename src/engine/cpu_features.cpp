#include "engine/cpu_features.hpp"

#include <omp.h>
#include <sched.h>

#include <algorithm>
#include <dnnl.hpp>
#include <exception>
#include <vector>

namespace facematch::engine {

void set_threads_for_this_thread(int threads) { omp_set_num_threads(std::max(1, threads)); }
int threads_for_this_thread() { return omp_get_max_threads(); }

void run_concurrently(int n, const std::function<void(int)>& task) {
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(std::max(n, 0)));
#pragma omp parallel num_threads(n)
  {
    // OpenMP may give fewer threads than asked: each thread takes every num_threads-th task.
    for (int i = omp_get_thread_num(); i < n; i += omp_get_num_threads()) {
      try {
        set_threads_for_this_thread(1);  // this task's ICV only; gone with the parallel region
        task(i);
      } catch (...) {
        errors[static_cast<std::size_t>(i)] = std::current_exception();
      }
    }
  }
  for (const auto& error : errors)
    if (error) std::rethrow_exception(error);
}

int available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1, omp_get_num_procs());
}

bool cpu_has_native_bf16() {
  const auto isa = dnnl::get_effective_cpu_isa();
  return isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
}

bool cpu_supports_bf16() {
  const auto isa = dnnl::get_effective_cpu_isa();
  return isa == dnnl::cpu_isa::avx512_core || isa == dnnl::cpu_isa::avx512_core_vnni || cpu_has_native_bf16();
}

bool cpu_has_native_int8() {
  const auto isa = dnnl::get_effective_cpu_isa();
  return isa == dnnl::cpu_isa::avx2_vnni || isa == dnnl::cpu_isa::avx512_core_vnni ||
         isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
}

std::string cpu_isa_name() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41:
      return "sse41";
    case dnnl::cpu_isa::avx:
      return "avx";
    case dnnl::cpu_isa::avx2:
      return "avx2";
    case dnnl::cpu_isa::avx2_vnni:
      return "avx2_vnni";
    case dnnl::cpu_isa::avx512_core:
      return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni:
      return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16:
      return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx:
      return "avx512_core_amx";
    default:
      return "other";
  }
}

}  // namespace facematch::engine
