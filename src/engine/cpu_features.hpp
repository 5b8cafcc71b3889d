// What the CPU offers the engine: its thread budget and the instruction sets oneDNN dispatches to,
// which decide the precisions it can run natively (models/model_files.cpp auto_candidates).
#pragma once

#include <functional>
#include <string>

namespace facematch::engine {

// How many threads oneDNN may use for primitives created from the calling thread (OpenMP is per calling
// thread). Callers that already run one inference per core set 1 to avoid oversubscription. oneDNN fixes
// a primitive's thread count when it is created and starts that many whatever is set when it runs, so
// a CompiledNet must run where threads_for_this_thread() equals its threads().
void set_threads_for_this_thread(int threads);
int threads_for_this_thread();
// Runs task(0) .. task(n - 1) at the same time on the calling thread's OpenMP team, the threads oneDNN's
// primitives run on (so none of them idles, spinning, against the tasks), each task with one thread for
// the primitives it runs; waits for all and rethrows the first task's exception.
void run_concurrently(int n, const std::function<void(int)>& task);
// Cores this process may use (sched affinity), the basis of every thread budget.
int available_cores();

// The CPU executes bf16 dot products natively (AVX512-BF16 or AMX), so oneDNN does not emulate them.
bool cpu_has_native_bf16();
// Whether oneDNN runs bf16 at all here (AVX-512 and up; emulated below AVX512-BF16): on AVX2 it
// rejects bf16 convolutions.
bool cpu_supports_bf16();
// The CPU has int8 dot products that accumulate in 32 bits (VNNI or AMX). Without them oneDNN's int8
// kernels go through 16-bit intermediates, which can saturate.
bool cpu_has_native_int8();
// oneDNN's name of the instruction set it dispatches to (e.g. "avx512_core_bf16").
std::string cpu_isa_name();

}  // namespace facematch::engine
