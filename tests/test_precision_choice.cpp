// Issue 15: Precision::automatic measures each net's candidate precisions on this CPU and keeps the
// fastest, cached on disk per machine. Nothing here depends on which precision wins: the tests check that
// the choice is one the accuracy gate allows, that the cache is written, read back and trusted, that a
// broken cache costs only a new measurement, and that a forced precision wins over any cache.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "engine/executor.hpp"
#include "facematch/models.hpp"
#include "models/model_registry.hpp"
#include "models/precision_choice.hpp"
#include "test_support.hpp"

namespace fm = facematch;
using fm::Precision;

namespace {

// Points FACEMATCH_CACHE_DIR at a fresh folder for one test and restores it afterwards.
class CacheFolder {
 public:
  explicit CacheFolder(const std::string& name)
      : dir_(std::filesystem::path(FACEMATCH_BINARY_DIR) / "test-precision-cache" / name) {
    std::filesystem::remove_all(dir_);
    if (const char* old = std::getenv("FACEMATCH_CACHE_DIR")) saved_ = old;
    ::setenv("FACEMATCH_CACHE_DIR", dir_.c_str(), 1);
  }
  ~CacheFolder() {
    if (saved_.empty())
      ::unsetenv("FACEMATCH_CACHE_DIR");
    else
      ::setenv("FACEMATCH_CACHE_DIR", saved_.c_str(), 1);
  }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  std::string saved_;
};

// A fresh Models (its own compiled nets and choices), so each test measures or reads the cache anew.
std::shared_ptr<const fm::Models> fresh_models(Precision precision) {
  return fm::Models::load(fm::testing::models_dir(), /*verify_checksums=*/false)->with_precision(precision);
}

const fm::NetPrecision& find_net(const std::vector<fm::NetPrecision>& nets, const std::string& key) {
  const auto it = std::find_if(nets.begin(), nets.end(), [&](const auto& n) { return n.net == key; });
  if (it == nets.end()) throw std::runtime_error("net " + key + " was not prepared");
  return *it;
}

bool is_candidate(const std::string& net, Precision p) {
  const auto c = fm::auto_candidates(net);
  return std::find(c.begin(), c.end(), p) != c.end();
}

constexpr const char* kRecognition = "face_recognition_model";
constexpr const char* kLandmarks = "face_landmark_68_model";

}  // namespace

TEST(PrecisionChoice, AnotherPrecisionMustBeClearlyFasterThanFp32) {
  EXPECT_EQ(fm::models::fastest_precision({{Precision::fp32, 10.0}}), Precision::fp32);
  // 4% faster is within timing noise: fp32, the exact one, stays.
  EXPECT_EQ(fm::models::fastest_precision({{Precision::fp32, 10.0}, {Precision::bf16, 9.6}}),
            Precision::fp32);
  EXPECT_EQ(fm::models::fastest_precision({{Precision::fp32, 10.0}, {Precision::bf16, 9.0}}),
            Precision::bf16);
  EXPECT_EQ(fm::models::fastest_precision({{Precision::fp32, 10.0}, {Precision::bf16, 12.0}}),
            Precision::fp32);
  EXPECT_EQ(fm::models::fastest_precision(
                {{Precision::fp32, 10.0}, {Precision::bf16, 7.0}, {Precision::int8, 4.0}}),
            Precision::int8);
}

TEST(PrecisionChoice, CandidatesAreFp32AndWhatTheGateAllowsNatively) {
  for (const auto& key :
       {kRecognition, kLandmarks, "tiny_face_detector_model@416", "ssd_mobilenetv1_model@512"}) {
    const auto c = fm::auto_candidates(key);
    ASSERT_FALSE(c.empty());
    EXPECT_EQ(c.front(), Precision::fp32) << key;
    EXPECT_EQ(is_candidate(key, Precision::bf16),
              fm::engine::cpu_has_native_bf16() && fm::net_precision(key, Precision::bf16) == Precision::bf16)
        << key;
  }
  // SSD failed bf16's gate and has no int8 ranges; the landmark and tiny nets have ranges but failed
  // int8's gate, so only the recognition net is an int8 candidate.
  EXPECT_EQ(fm::auto_candidates("ssd_mobilenetv1_model@512").size(), 1u);
  EXPECT_FALSE(is_candidate(kLandmarks, Precision::int8));
  EXPECT_FALSE(is_candidate("tiny_face_detector_model@416", Precision::int8));
  EXPECT_EQ(is_candidate(kRecognition, Precision::int8), fm::engine::cpu_has_native_int8());
}

TEST(PrecisionChoice, CacheFileRoundTripsForTheSameMachineOnly) {
  const CacheFolder folder("roundtrip");
  const auto machine = fm::models::this_machine();
  EXPECT_FALSE(machine.cpu.empty());
  EXPECT_GE(machine.cores, 1);
  const auto file = fm::models::precision_cache_file(machine);
  EXPECT_EQ(file.parent_path(), folder.dir());
  fm::models::ChoiceTable table;
  table[{kRecognition, 2}] = {Precision::int8, {{Precision::fp32, 3.5}, {Precision::int8, 1.2}}};
  table[{kLandmarks, 1}] = {Precision::fp32, {{Precision::fp32, 0.8}, {Precision::bf16, 0.9}}};
  ASSERT_TRUE(fm::models::write_choice_cache(file, machine, table));
  const auto back = fm::models::read_choice_cache(file, machine);
  ASSERT_EQ(back.size(), 2u);
  for (const auto& [key, choice] : table) {
    ASSERT_TRUE(back.contains(key)) << key.first;
    EXPECT_EQ(back.at(key).chosen, choice.chosen);
    EXPECT_EQ(back.at(key).median_ms, choice.median_ms);
  }
  // Another CPU, core count or oneDNN version: another file name, and this file's entries do not apply.
  auto other = machine;
  other.cores += 1;
  EXPECT_NE(fm::models::precision_cache_file(other), file);
  EXPECT_TRUE(fm::models::read_choice_cache(file, other).empty());
  other = machine;
  other.onednn += ".1";
  EXPECT_TRUE(fm::models::read_choice_cache(file, other).empty());
}

TEST(PrecisionChoice, CorruptCacheFilesAreIgnored) {
  const CacheFolder folder("corrupt");
  const auto machine = fm::models::this_machine();
  const auto file = fm::models::precision_cache_file(machine);
  std::filesystem::create_directories(file.parent_path());
  const auto write = [&](const std::string& text) { std::ofstream(file, std::ios::trunc) << text; };
  fm::models::ChoiceTable table;
  table[{kRecognition, 1}] = {Precision::bf16, {{Precision::fp32, 3.5}, {Precision::bf16, 1.9}}};
  ASSERT_TRUE(fm::models::write_choice_cache(file, machine, table));
  std::string valid;
  {
    std::ifstream in(file);
    valid.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_EQ(fm::models::read_choice_cache(file, machine).size(), 1u);
  for (const std::string& bad : {std::string("not json"), valid.substr(0, valid.size() / 2),
                                 std::string("{}"), std::string("[1, 2]"), std::string("")}) {
    write(bad);
    EXPECT_TRUE(fm::models::read_choice_cache(file, machine).empty()) << bad;
  }
  // An entry whose choice was not timed, or with a time that is not positive, is dropped.
  auto edited = valid;
  edited.replace(edited.find("\"bf16\""), 6, "\"int8\"");  // "chosen": "int8", not among the times
  write(edited);
  EXPECT_TRUE(fm::models::read_choice_cache(file, machine).empty()) << edited;
  edited = valid;
  edited.replace(edited.find("3.5"), 3, "-1.0");
  write(edited);
  EXPECT_TRUE(fm::models::read_choice_cache(file, machine).empty()) << edited;
  std::filesystem::remove(file);
  EXPECT_TRUE(fm::models::read_choice_cache(file, machine).empty());
}

// auto on the real nets: every choice is one of the net's candidates, timed in each of them, written to
// the cache file and read back as it is by the next process (a fresh Models).
TEST(PrecisionChoice, AutoMeasuresCachesAndRereadsTheChoice) {
  const CacheFolder folder("auto");
  const auto measured = fresh_models(Precision::automatic)->prepare_nets();
  ASSERT_EQ(measured.size(), fm::models::model_registry().size());
  for (const auto& n : measured) {
    EXPECT_TRUE(is_candidate(n.net, n.precision)) << n.net << " " << fm::to_string(n.precision);
    EXPECT_EQ(n.threads, fm::engine::threads_for_this_thread());
    const auto candidates = fm::auto_candidates(n.net);
    if (candidates.size() > 1) {
      EXPECT_FALSE(n.from_cache) << n.net;
      EXPECT_EQ(n.measured_ms.size(), candidates.size()) << n.net;
      for (const auto& [p, ms] : n.measured_ms) EXPECT_GT(ms, 0) << n.net;
      EXPECT_EQ(n.precision, fm::models::fastest_precision(n.measured_ms)) << n.net;
    } else {
      EXPECT_TRUE(n.measured_ms.empty()) << n.net;
    }
  }
  const auto file = fm::precision_cache_file();
  ASSERT_TRUE(std::filesystem::exists(file)) << file;
  const auto table = fm::models::read_choice_cache(file, fm::models::this_machine());
  for (const auto& n : measured) {
    if (n.measured_ms.empty()) continue;
    const std::pair key{n.net, n.threads};
    ASSERT_TRUE(table.contains(key)) << n.net;
    EXPECT_EQ(table.at(key).chosen, n.precision);
    EXPECT_EQ(table.at(key).median_ms, n.measured_ms);
  }
  const auto reread = fresh_models(Precision::automatic)->prepare_nets();
  ASSERT_EQ(reread.size(), measured.size());
  for (std::size_t i = 0; i < reread.size(); ++i) {
    EXPECT_EQ(reread[i].net, measured[i].net);
    EXPECT_EQ(reread[i].precision, measured[i].precision) << reread[i].net;
    EXPECT_EQ(reread[i].measured_ms, measured[i].measured_ms) << reread[i].net;
    EXPECT_EQ(reread[i].from_cache, !measured[i].measured_ms.empty()) << reread[i].net;
  }
}

// A choice in the cache is trusted (here one that a measurement might not make), and a forced precision
// wins over it.
TEST(PrecisionChoice, CachedChoiceIsUsedAndForcedPrecisionWins) {
  if (!fm::engine::cpu_has_native_bf16()) GTEST_SKIP() << "no native bf16: auto has no choice to make";
  const CacheFolder folder("forced");
  const auto machine = fm::models::this_machine();
  const int threads = fm::engine::threads_for_this_thread();
  fm::models::ChoiceTable table;
  // Times as the cache would hold them, whatever this machine measures.
  table[{kLandmarks, threads}] = {Precision::bf16, {{Precision::fp32, 9.0}, {Precision::bf16, 1.0}}};
  ASSERT_TRUE(fm::models::write_choice_cache(fm::precision_cache_file(), machine, table));
  const auto automatic = fresh_models(Precision::automatic)->prepare_nets();
  const auto& landmarks = find_net(automatic, kLandmarks);
  EXPECT_EQ(landmarks.precision, Precision::bf16);
  EXPECT_TRUE(landmarks.from_cache);
  EXPECT_EQ(landmarks.measured_ms.at(Precision::fp32), 9.0);
  // The other nets were measured and added to the same file; the landmark entry is kept.
  const auto after = fm::models::read_choice_cache(fm::precision_cache_file(), machine);
  EXPECT_EQ(after.at({kLandmarks, threads}).chosen, Precision::bf16);
  EXPECT_TRUE(after.contains({kRecognition, threads}));

  for (const auto forced : {Precision::fp32, Precision::bf16}) {
    const auto nets = fresh_models(forced)->prepare_nets();
    EXPECT_EQ(find_net(nets, kLandmarks).precision, forced);
    EXPECT_EQ(find_net(nets, kRecognition).precision, forced);
    EXPECT_EQ(find_net(nets, "ssd_mobilenetv1_model@512").precision, Precision::fp32);
    for (const auto& n : nets) EXPECT_TRUE(n.measured_ms.empty()) << n.net;
  }
}

// A cache folder that cannot be written costs a measurement per process, never an error.
TEST(PrecisionChoice, UnwritableCacheIsNotFatal) {
  const CacheFolder folder("unwritable");
  std::filesystem::create_directories(folder.dir().parent_path());
  std::ofstream(folder.dir()) << "a file where the folder should be";
  const auto nets = fresh_models(Precision::automatic)->prepare_nets();
  EXPECT_EQ(nets.size(), fm::models::model_registry().size());
  for (const auto& n : nets) EXPECT_TRUE(is_candidate(n.net, n.precision)) << n.net;
  EXPECT_TRUE(std::filesystem::is_regular_file(folder.dir()));
  std::filesystem::remove(folder.dir());
}
