#include <openssl/evp.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <tuple>

#include "engine/executor.hpp"
#include "facematch/error.hpp"
#include "facematch/models.hpp"
#include "models/int8_ranges.hpp"
#include "models/model_registry.hpp"
#include "models/precision_choice.hpp"
#include "models/weights.hpp"

namespace facematch {
namespace {

// tools/face-api-models.sha256, embedded at build time so a binary checks the files it was built for.
constexpr const char* kChecksums =
#include "face-api-models.sha256.inc"
    ;

std::string file_sha256(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error(ErrorCode::model_error, "model file " + path.string() + " is missing (run ./setup.sh)");
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::vector<char> buffer(1 << 16);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    EVP_DigestUpdate(ctx, buffer.data(), static_cast<std::size_t>(in.gcount()));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx, digest, &length);
  EVP_MD_CTX_free(ctx);
  std::ostringstream hex;
  for (unsigned int i = 0; i < length; ++i)
    hex << "0123456789abcdef"[digest[i] >> 4] << "0123456789abcdef"[digest[i] & 15];
  return hex.str();
}

std::map<std::string, std::string> expected_checksums() {
  std::map<std::string, std::string> sums;
  std::istringstream in(kChecksums);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string sum, name;
    fields >> sum >> name;
    sums[name] = sum;
  }
  return sums;
}

}  // namespace

std::filesystem::path locate_models(const std::optional<std::filesystem::path>& explicit_dir) {
  if (explicit_dir) return *explicit_dir;
  if (const char* env = std::getenv("FACEMATCH_MODELS"); env && *env) return env;
  return FACEMATCH_DEFAULT_MODELS_DIR;
}

std::string_view to_string(Precision precision) {
  switch (precision) {
    case Precision::automatic:
      return "auto";
    case Precision::fp32:
      return "fp32";
    case Precision::bf16:
      return "bf16";
    case Precision::int8:
      return "int8";
  }
  return "fp32";
}

Precision parse_precision(std::string_view name) {
  if (name == "auto") return Precision::automatic;
  if (name == "fp32") return Precision::fp32;
  if (name == "bf16") return Precision::bf16;
  if (name == "int8") return Precision::int8;
  throw Error(ErrorCode::invalid_argument,
              "unknown precision '" + std::string(name) + "' (use auto, fp32, bf16 or int8)");
}

Precision resolve_precision(Precision requested) {
  if (requested == Precision::int8 && !engine::cpu_has_native_int8())
    throw Error(ErrorCode::invalid_argument, "precision int8 needs a CPU with VNNI or AMX (oneDNN reports " +
                                                 engine::cpu_isa_name() + "); use auto");
  if (requested == Precision::bf16 && !engine::cpu_supports_bf16())
    throw Error(ErrorCode::invalid_argument, "precision bf16 needs a CPU with AVX-512 (oneDNN reports " +
                                                 engine::cpu_isa_name() + "); use auto");
  return requested;
}

namespace {

// int8 also needs the calibration of this very net: a net whose input size varies (the tiny detector) is
// calibrated at its default size only, and runs like automatic at the others.
bool int8_allowed(std::string_view key) {
  return models::model_spec(key).int8 && models::has_builtin_int8_ranges(std::string(key));
}

}  // namespace

std::vector<Precision> auto_candidates(std::string_view key) {
  const auto& spec = models::model_spec(key);
  std::vector<Precision> candidates{Precision::fp32};
  // Emulated bf16 and int8 without 32-bit accumulation were slower than fp32 wherever they were timed
  // (docs/speed.md), so they are not worth timing.
  if (spec.bf16 && engine::cpu_has_native_bf16()) candidates.push_back(Precision::bf16);
  if (int8_allowed(key) && engine::cpu_has_native_int8()) candidates.push_back(Precision::int8);
  return candidates;
}

Precision net_precision(std::string_view key, Precision precision) {
  const auto& spec = models::model_spec(key);
  const auto allowed = [&](Precision p) {
    return p == Precision::fp32 || (p == Precision::bf16 && spec.bf16) ||
           (p == Precision::int8 && int8_allowed(key));
  };
  if (precision == Precision::int8 && !allowed(Precision::int8)) precision = Precision::automatic;
  if (precision == Precision::automatic)
    return auto_candidates(key).size() > 1 ? Precision::automatic : Precision::fp32;
  return allowed(precision) ? precision : Precision::fp32;
}

std::filesystem::path precision_cache_file() { return models::precision_cache_file(models::this_machine()); }

struct Models::Impl {
  std::filesystem::path dir;
  std::map<std::string, models::WeightMap> weights;
  mutable std::mutex mutex;
  // Keyed by net, batch, precision and thread count (oneDNN fixes a primitive's thread count when it
  // is created).
  mutable std::map<std::tuple<std::string, int, Precision, int>, std::shared_ptr<const engine::CompiledNet>>
      compiled;
  // What each net runs in, keyed by net, requested precision and thread count.
  mutable std::map<std::tuple<std::string, Precision, int>, NetPrecision> resolved;
  // automatic's measurements on disk, read on the first choice to make.
  mutable std::optional<models::ChoiceTable> measured;

  // The caller holds `mutex`.
  std::shared_ptr<const engine::CompiledNet> compile(
      const std::string& key, int batch, Precision precision,
      const std::function<engine::NetDescription()>& describe) const;
  const NetPrecision& resolve(const std::string& key, Precision requested,
                              const std::function<engine::NetDescription()>& describe) const;
  NetPrecision measure(const std::string& key, const std::function<engine::NetDescription()>& describe) const;
};

std::shared_ptr<const engine::CompiledNet> Models::Impl::compile(
    const std::string& key, int batch, Precision precision,
    const std::function<engine::NetDescription()>& describe) const {
  auto& slot = compiled[{key, batch, precision, engine::threads_for_this_thread()}];
  if (!slot) {
    auto description = describe();
    auto ranges =
        precision == Precision::int8 ? models::builtin_int8_ranges(description) : std::vector<float>{};
    const auto type = precision == Precision::int8   ? engine::DataType::int8
                      : precision == Precision::bf16 ? engine::DataType::bf16
                                                     : engine::DataType::f32;
    slot = std::make_shared<engine::CompiledNet>(std::move(description), batch, type, std::move(ranges));
  }
  return slot;
}

const NetPrecision& Models::Impl::resolve(const std::string& key, Precision requested,
                                          const std::function<engine::NetDescription()>& describe) const {
  const int threads = engine::threads_for_this_thread();
  const auto it = resolved.find({key, requested, threads});
  if (it != resolved.end()) return it->second;
  NetPrecision choice;
  const Precision fixed = net_precision(key, requested);
  if (fixed == Precision::automatic)
    choice = measure(key, describe);
  else
    choice.precision = fixed;
  choice.net = key;
  choice.threads = threads;
  return resolved.emplace(std::tuple{key, requested, threads}, std::move(choice)).first->second;
}

// About 40 ms of runs per net with a choice (the slowest, the recognition net in fp32 on one thread,
// takes ~3.5 ms a run), so all of them together with their compilation stay within a few hundred ms.
constexpr double kMeasureBudgetMs = 40;

NetPrecision Models::Impl::measure(const std::string& key,
                                   const std::function<engine::NetDescription()>& describe) const {
  const int threads = engine::threads_for_this_thread();
  const auto candidates = auto_candidates(key);
  const auto machine = models::this_machine();
  const auto file = models::precision_cache_file(machine);
  if (!measured) measured = file.empty() ? models::ChoiceTable{} : models::read_choice_cache(file, machine);
  NetPrecision choice;
  const auto cached = measured->find({key, threads});
  const auto same_candidates = [&](const models::MeasuredChoice& c) {
    return c.median_ms.size() == candidates.size() &&
           std::all_of(candidates.begin(), candidates.end(),
                       [&](Precision p) { return c.median_ms.contains(p); });
  };
  if (cached != measured->end() && same_candidates(cached->second)) {
    choice.precision = cached->second.chosen;
    choice.measured_ms = cached->second.median_ms;
    choice.from_cache = true;
    return choice;
  }
  std::vector<std::unique_ptr<engine::NetRunner>> runners;
  std::vector<std::pair<Precision, engine::NetRunner*>> timed;
  std::vector<Precision> compiled_here;
  for (const Precision p : candidates) {
    if (!compiled.contains({key, 1, p, threads})) compiled_here.push_back(p);
    runners.push_back(std::make_unique<engine::NetRunner>(compile(key, 1, p, describe)));
    timed.emplace_back(p, runners.back().get());
  }
  choice.measured_ms = models::time_candidates(timed, kMeasureBudgetMs);
  choice.precision = models::fastest_precision(choice.measured_ms);
  // The losers compiled for the measurement are not kept: only the winner runs from now on.
  runners.clear();
  for (const Precision p : compiled_here)
    if (p != choice.precision) compiled.erase({key, 1, p, threads});
  if (!file.empty()) {
    // Another process may have added entries since this one read the file.
    auto merged = models::read_choice_cache(file, machine);
    merged[{key, threads}] = {choice.precision, choice.measured_ms};
    (void)models::write_choice_cache(file, machine, merged);  // not fatal: the next process measures again
    measured = std::move(merged);
  } else {
    (*measured)[{key, threads}] = {choice.precision, choice.measured_ms};
  }
  return choice;
}

Models::Models() : impl_(std::make_shared<Impl>()) {}
Models::~Models() = default;

std::shared_ptr<const Models> Models::load(const std::filesystem::path& dir, bool verify_checksums) {
  if (!std::filesystem::is_directory(dir))
    throw Error(ErrorCode::model_error,
                "models folder " + dir.string() + " does not exist (run ./setup.sh, or pass --models DIR)");
  std::shared_ptr<Models> models(new Models());
  models->impl_->dir = dir;
  if (verify_checksums) {
    const auto sums = expected_checksums();
    for (const auto& [name, sum] : sums) {
      const auto actual = file_sha256(dir / name);
      if (actual != sum)
        throw Error(ErrorCode::model_error, "model file " + (dir / name).string() + " has SHA-256 " + actual +
                                                ", expected " + sum +
                                                " (altered or from another face-api version)");
    }
  }
  for (const auto& spec : models::model_registry()) {
    const std::string name(spec.name);
    models->impl_->weights.emplace(name, models::WeightMap::load(dir, name));
  }
  return models;
}

const std::filesystem::path& Models::directory() const { return impl_->dir; }

std::shared_ptr<const Models> Models::with_precision(Precision precision) const {
  std::shared_ptr<Models> handle(new Models());
  handle->impl_ = impl_;
  handle->precision_ = resolve_precision(precision);
  return handle;
}

Precision Models::precision() const { return precision_; }

const models::WeightMap& Models::weights(const std::string& model) const {
  const auto it = impl_->weights.find(model);
  if (it == impl_->weights.end()) throw Error(ErrorCode::model_error, "model " + model + " is not loaded");
  return it->second;
}

std::shared_ptr<const engine::CompiledNet> Models::compiled(
    const std::string& key, int batch, const std::function<engine::NetDescription()>& describe) const {
  std::lock_guard lock(impl_->mutex);
  const Precision precision = impl_->resolve(key, precision_, describe).precision;
  return impl_->compile(key, batch, precision, describe);
}

std::vector<NetPrecision> Models::net_precisions(int threads) const {
  std::lock_guard lock(impl_->mutex);
  std::vector<NetPrecision> out;
  for (const auto& [key, choice] : impl_->resolved)
    if (std::get<1>(key) == precision_ && (threads == 0 || std::get<2>(key) == threads))
      out.push_back(choice);
  return out;
}

std::vector<NetPrecision> Models::prepare_nets() const {
  for (const auto& spec : models::model_registry())
    (void)compiled(models::default_net_key(spec), 1,
                   [&] { return spec.describe(weights(std::string(spec.name)), spec.input_size); });
  return net_precisions(engine::threads_for_this_thread());
}

}  // namespace facematch
