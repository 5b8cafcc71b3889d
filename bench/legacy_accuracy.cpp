// Accuracy of the original cloud-function route `POST /` as its real clients call it, next to `POST /verify`
// on the same pairs (bench/legacy-accuracy.sh starts the server and drives this; not a test).
//
// The original client (`functions.to_np`) sends whole photos: cv2.imread (BGR), cv2.resize to 224x224
// whatever the aspect ratio (bilinear), np.expand_dims(..., 0).tolist(), posted as {"truth", "check"}. So
// each pair goes (a) squashed like that to `POST /` and (b) as the original JPEG files (multipart) to
// `POST /verify`. Any answer other than 200 with a Yes/No verdict is an error, recorded by status and
// error code: on a genuine pair it is wrong, on an impostor pair it is counted as 'refused'.
//
// --detect-only posts every distinct photo of those pairs to `POST /detect`, squashed (as PNG, so the
// server sees exactly the squashed pixels) and as the original file, and counts photos with no face,
// split by the original's aspect ratio (width / height).
//
//   facematch_legacy_accuracy --port P --pairs ../shared/calibration/pairs.csv [--limit 1000 (0 = all)]
//                             [--concurrency 3] [--detect-only]         (--help lists the flags)
#include <httplib.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "keep_alive_clients.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Pair {
  std::string img1, img2;
  bool same = false;
};

// The first `limit` rows of pairs.csv (`img1,img2,same`, paths relative to its folder); 0 means all.
std::vector<Pair> read_pairs(const fs::path& csv, std::size_t limit) {
  std::ifstream in(csv);
  if (!in) throw std::runtime_error("cannot read " + csv.string() + " (set FACEMATCH_SHARED?)");
  std::vector<Pair> pairs;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line) && (limit == 0 || pairs.size() < limit)) {
    std::stringstream fields(line);
    Pair p;
    std::string same;
    if (!std::getline(fields, p.img1, ',') || !std::getline(fields, p.img2, ',') ||
        !std::getline(fields, same))
      throw std::runtime_error("bad row in " + csv.string() + ": " + line);
    p.same = same.rfind('1', 0) == 0;
    pairs.push_back(std::move(p));
  }
  return pairs;
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return {std::istreambuf_iterator<char>(in), {}};
}

// cv2.imread(path), then cv2.resize(img, (224, 224)): the original client's squash, BGR.
cv::Mat squashed(const cv::Mat& bgr) {
  cv::Mat out;
  cv::resize(bgr, out, cv::Size(224, 224), 0, 0, cv::INTER_LINEAR);
  return out;
}

cv::Mat read_bgr(const fs::path& path) {
  cv::Mat bgr = cv::imread(path.string(), cv::IMREAD_COLOR);
  if (bgr.empty()) throw std::runtime_error("cannot decode " + path.string());
  return bgr;
}

// np.expand_dims(img, 0).tolist() as Python's json.dumps writes it: [1][H][W][3], ", " separators. The
// client's arrays were floats (peers.md: "float pixel values"), so 12 is written 12.0; the server reads
// ints the same way, so the verdicts do not depend on it.
void append_legacy_image(std::string& out, const cv::Mat& bgr) {
  out += "[[";
  for (int y = 0; y < bgr.rows; ++y) {
    out += y ? ", [" : "[";
    const auto* p = bgr.ptr<std::uint8_t>(y);
    for (int x = 0; x < bgr.cols; ++x, p += 3) {
      out += x ? ", [" : "[";
      for (int c = 0; c < 3; ++c) {
        if (c) out += ", ";
        out += std::to_string(p[c]);
        out += ".0";
      }
      out += ']';
    }
    out += ']';
  }
  out += "]]";
}

std::string legacy_body(const cv::Mat& truth, const cv::Mat& check) {
  std::string body = R"({"truth": )";
  append_legacy_image(body, truth);
  body += R"(, "check": )";
  append_legacy_image(body, check);
  body += '}';
  return body;
}

enum class Verdict { yes, no, error };

// One HTTP answer: its JSON body, and unless it is a 200, the error as "422 no_face" ("transport Read"
// when no answer came).
struct Reply {
  json body;
  std::string error;
};

Reply reply_of(const httplib::Result& r) {
  Reply reply;
  if (!r) {
    reply.error = "transport " + httplib::to_string(r.error());
    return reply;
  }
  reply.body = json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  if (r->status == 200) return reply;
  const json* code = nullptr;
  if (reply.body.is_object() && reply.body.contains("error") && reply.body["error"].is_object() &&
      reply.body["error"].contains("code") && reply.body["error"]["code"].is_string())
    code = &reply.body["error"]["code"];
  reply.error =
      std::to_string(r->status) + " " + (code ? code->get<std::string>() : std::string("(no code)"));
  return reply;
}

struct Answer {
  Verdict verdict = Verdict::error;
  std::string error;
};

// A verdict only from a 200 whose `field` is "Yes" or "No"; everything else is an error.
Answer answer_of(const httplib::Result& r, const char* field) {
  const Reply reply = reply_of(r);
  if (!reply.error.empty()) return {Verdict::error, reply.error};
  if (reply.body.is_object() && reply.body.contains(field) && reply.body[field].is_string()) {
    const auto value = reply.body[field].get<std::string>();
    if (value == "Yes") return {Verdict::yes, {}};
    if (value == "No") return {Verdict::no, {}};
  }
  return {Verdict::error, std::string("200 no ") + field};
}

struct RouteTally {
  std::string route;
  int pairs = 0, genuine = 0, impostor = 0;
  int correct = 0, false_accepts = 0, false_rejects = 0;
  int genuine_errors = 0, refused = 0;  // errors on genuine pairs / on impostor pairs
  std::map<std::string, int> errors;
  double milliseconds = 0;

  void add(bool same, const Answer& a, double ms) {
    ++pairs;
    ++(same ? genuine : impostor);
    milliseconds += ms;
    if (a.verdict == Verdict::error) {
      ++errors[a.error];
      ++(same ? genuine_errors : refused);
    } else if ((a.verdict == Verdict::yes) == same) {
      ++correct;
    } else {
      ++(same ? false_rejects : false_accepts);
    }
  }

  int answered() const { return pairs - genuine_errors - refused; }
  static double ratio(double a, double b) { return b > 0 ? a / b : 0.0; }
  double accuracy_all() const { return ratio(correct, pairs); }
  double accuracy_answered() const { return ratio(correct, answered()); }
  double far() const { return ratio(false_accepts, impostor); }
  // A genuine pair the route would not answer is a genuine user turned away.
  double frr() const { return ratio(false_rejects + genuine_errors, genuine); }
  double frr_answered() const { return ratio(false_rejects, genuine - genuine_errors); }

  std::string errors_text() const {
    std::string s;
    for (const auto& [code, n] : errors) s += (s.empty() ? "" : ", ") + code + ": " + std::to_string(n);
    return s.empty() ? "none" : s;
  }

  json to_json() const {
    return {{"route", route},
            {"pairs", pairs},
            {"genuine", genuine},
            {"impostor", impostor},
            {"answered", answered()},
            {"correct", correct},
            {"false_accepts", false_accepts},
            {"false_rejects", false_rejects},
            {"genuine_errors", genuine_errors},
            {"refused_impostors", refused},
            {"accuracy_errors_wrong", accuracy_all()},
            {"accuracy_answered", accuracy_answered()},
            {"far", far()},
            {"frr", frr()},
            {"frr_answered", frr_answered()},
            {"errors", errors},
            {"mean_ms", ratio(milliseconds, pairs)}};
  }
};

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

std::string percent(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f%%", 100 * v);
  return text;
}

json run_accuracy(int port, int concurrency, const fs::path& root, const std::vector<Pair>& pairs) {
  RouteTally legacy, verify;
  legacy.route = "POST / (squashed 224x224 BGR arrays)";
  verify.route = "POST /verify (original JPEGs)";
  std::mutex mutex;
  // Tasks interleave the two routes pair by pair, so both see the same server load.
  facematch::bench::run_on_keep_alive_clients(
      port, concurrency, 2 * pairs.size(), [&](httplib::Client& client, std::size_t task) {
        const Pair& p = pairs[task / 2];
        const bool is_legacy = task % 2 == 0;
        Answer answer;
        double ms = 0;
        if (is_legacy) {
          const auto body = legacy_body(squashed(read_bgr(root / p.img1)), squashed(read_bgr(root / p.img2)));
          const auto t0 = std::chrono::steady_clock::now();
          answer = answer_of(client.Post("/", body, "application/json"), "Match");
          ms = ms_since(t0);
        } else {
          const httplib::MultipartFormDataItems items = {
              {"img1", read_bytes(root / p.img1), fs::path(p.img1).filename().string(), "image/jpeg"},
              {"img2", read_bytes(root / p.img2), fs::path(p.img2).filename().string(), "image/jpeg"}};
          const auto t0 = std::chrono::steady_clock::now();
          answer = answer_of(client.Post("/verify", items), "match");
          ms = ms_since(t0);
        }
        std::lock_guard lock(mutex);
        (is_legacy ? legacy : verify).add(p.same, answer, ms);
      });

  std::printf(
      "| route | pairs | answered | accuracy (errors wrong) | accuracy (answered) | FAR | FRR (errors "
      "rejected) | FRR (answered) | errors on genuine | refused impostors | errors by status and code | "
      "mean ms |\n");
  std::printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |\n");
  json routes = json::array();
  for (const auto* t : {&legacy, &verify}) {
    std::printf("| %s | %d | %d | %s | %s | %s (%d/%d) | %s | %s | %d | %d | %s | %.0f |\n", t->route.c_str(),
                t->pairs, t->answered(), percent(t->accuracy_all()).c_str(),
                percent(t->accuracy_answered()).c_str(), percent(t->far()).c_str(), t->false_accepts,
                t->impostor, percent(t->frr()).c_str(), percent(t->frr_answered()).c_str(), t->genuine_errors,
                t->refused, t->errors_text().c_str(), RouteTally::ratio(t->milliseconds, t->pairs));
    routes.push_back(t->to_json());
  }
  return {{"mode", "accuracy"}, {"routes", std::move(routes)}};
}

struct Photo {
  std::string path;
  double aspect = 0;                             // original width / height
  int squashed_faces = -1, original_faces = -1;  // -1: the /detect request failed
  std::string squashed_error, original_error;
};

const char* aspect_bucket(double aspect) {
  return aspect < 0.7 ? "< 0.7" : aspect <= 1.4 ? "0.7-1.4" : "> 1.4";
}

// Faces /detect found in `bytes`, or -1 with `error` set.
int detected_faces(httplib::Client& client, std::string bytes, const char* type, std::string& error) {
  const httplib::MultipartFormDataItems items = {{"img", std::move(bytes), "img", type}};
  const Reply reply = reply_of(client.Post("/detect", items));
  if (reply.error.empty() && reply.body.is_object() && reply.body.contains("faces") &&
      reply.body["faces"].is_array())
    return static_cast<int>(reply.body["faces"].size());
  error = reply.error.empty() ? "200 no faces" : reply.error;
  return -1;
}

json run_detect_only(int port, int concurrency, const fs::path& root, const std::vector<Pair>& pairs) {
  std::vector<Photo> photos;
  std::set<std::string> seen;
  for (const auto& p : pairs)
    for (const auto* path : {&p.img1, &p.img2})
      if (seen.insert(*path).second) photos.emplace_back().path = *path;

  facematch::bench::run_on_keep_alive_clients(
      port, concurrency, photos.size(), [&](httplib::Client& client, std::size_t i) {
        Photo& photo = photos[i];
        const auto original = read_bytes(root / photo.path);
        const cv::Mat bgr = read_bgr(root / photo.path);
        photo.aspect = static_cast<double>(bgr.cols) / bgr.rows;
        std::vector<unsigned char> png;
        cv::imencode(".png", squashed(bgr), png);
        photo.squashed_faces =
            detected_faces(client, std::string(png.begin(), png.end()), "image/png", photo.squashed_error);
        photo.original_faces = detected_faces(client, original, "image/jpeg", photo.original_error);
      });

  struct Bucket {
    int photos = 0, squashed_none = 0, original_none = 0, squashed_only = 0, failed = 0;
  };
  std::map<std::string, Bucket> buckets;
  std::map<std::string, int> failures;
  std::map<std::string, const Photo*> by_path;
  for (const auto& photo : photos) {
    by_path[photo.path] = &photo;
    for (const char* name : {aspect_bucket(photo.aspect), "all"}) {
      auto& b = buckets[name];
      ++b.photos;
      b.squashed_none += photo.squashed_faces == 0;
      b.original_none += photo.original_faces == 0;
      b.squashed_only += photo.squashed_faces == 0 && photo.original_faces > 0;
      b.failed += photo.squashed_faces < 0 || photo.original_faces < 0;
    }
    if (photo.squashed_faces < 0) ++failures["squashed " + photo.squashed_error];
    if (photo.original_faces < 0) ++failures["original " + photo.original_error];
  }
  int genuine_hit = 0, impostor_hit = 0;
  for (const auto& p : pairs) {
    if (by_path[p.img1]->squashed_faces == 0 || by_path[p.img2]->squashed_faces == 0)
      ++(p.same ? genuine_hit : impostor_hit);
  }

  std::printf(
      "| aspect (w/h) of the original | photos | squashed 224x224: no face | original: no face | no face "
      "only when squashed | /detect errors |\n");
  std::printf("| --- | ---: | ---: | ---: | ---: | ---: |\n");
  json table = json::object();
  for (const char* name : {"< 0.7", "0.7-1.4", "> 1.4", "all"}) {
    const auto& b = buckets[name];
    std::printf("| %s | %d | %d (%s) | %d (%s) | %d | %d |\n", name, b.photos, b.squashed_none,
                percent(RouteTally::ratio(b.squashed_none, b.photos)).c_str(), b.original_none,
                percent(RouteTally::ratio(b.original_none, b.photos)).c_str(), b.squashed_only, b.failed);
    table[name] = {{"photos", b.photos},
                   {"squashed_no_face", b.squashed_none},
                   {"original_no_face", b.original_none},
                   {"no_face_only_when_squashed", b.squashed_only},
                   {"detect_errors", b.failed}};
  }
  std::printf("\npairs with a squashed photo without a face: %d of %zu (genuine %d, impostor %d)\n",
              genuine_hit + impostor_hit, pairs.size(), genuine_hit, impostor_hit);
  for (const auto& [what, n] : failures) std::printf("/detect error: %s: %d\n", what.c_str(), n);
  return {{"mode", "detect-only"},
          {"photos", photos.size()},
          {"by_aspect", std::move(table)},
          {"pairs_with_squashed_no_face", {{"genuine", genuine_hit}, {"impostor", impostor_hit}}},
          {"detect_errors", failures}};
}

}  // namespace

// The squashed photos of `pairs` as PNG files under `out` (same relative paths plus ".png") and their
// pairs.csv, so that `facematch eval` measures the squashed route threshold-free (AUC, TAR at a FAR).
json write_squashed(const fs::path& root, const std::vector<Pair>& pairs, const fs::path& out) {
  std::set<std::string> written;
  std::ofstream csv(out / "pairs.csv");
  csv << "img1,img2,same\n";
  for (const Pair& p : pairs) {
    for (const auto& path : {p.img1, p.img2}) {
      if (!written.insert(path).second) continue;
      const fs::path target = out / (path + ".png");
      fs::create_directories(target.parent_path());
      if (!cv::imwrite(target.string(), squashed(read_bgr(root / path))))
        throw std::runtime_error("cannot write " + target.string());
    }
    csv << p.img1 << ".png," << p.img2 << ".png," << (p.same ? 1 : 0) << "\n";
  }
  std::printf("wrote %zu squashed photos and %s\n", written.size(), (out / "pairs.csv").c_str());
  return {{"mode", "write-squashed"}, {"photos", written.size()}};
}

int main(int argc, char** argv) {
  int port = 0, concurrency = 3;
  std::string squashed_dir;
  std::size_t limit = 1000;
  bool detect_only = false;
  std::string pairs_csv;
  CLI::App app{"Accuracy of POST / (squashed like the original client) next to POST /verify"};
  app.add_option("--port", port,
                 "port of a running `facematch serve` on 127.0.0.1 (not with --write-squashed)");
  app.add_option("--pairs", pairs_csv, "pairs.csv (img1,img2,same; paths relative to its folder)")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--limit", limit, "the first N pairs; 0 = all")->capture_default_str();
  app.add_option("--concurrency", concurrency, "keep-alive connections")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_flag("--detect-only", detect_only,
               "count photos with no face on POST /detect (squashed and original) instead");
  app.add_option("--write-squashed", squashed_dir,
                 "write the pairs' photos squashed (PNG) and their pairs.csv to this folder instead, for "
                 "`facematch eval DIR/pairs.csv --root DIR`");
  CLI11_PARSE(app, argc, argv);
  if (squashed_dir.empty() && port == 0) {
    std::fprintf(stderr, "legacy_accuracy: --port is required\n");
    return 2;
  }
  try {
    const auto pairs = read_pairs(pairs_csv, limit);
    const auto root = fs::path(pairs_csv).parent_path();
    const auto started = std::chrono::steady_clock::now();
    json result = !squashed_dir.empty() ? write_squashed(root, pairs, squashed_dir)
                  : detect_only         ? run_detect_only(port, concurrency, root, pairs)
                                        : run_accuracy(port, concurrency, root, pairs);
    const double seconds = ms_since(started) / 1000;
    result["pairs"] = pairs.size();
    result["concurrency"] = concurrency;
    result["seconds"] = seconds;
    std::printf("\n%zu pairs, concurrency %d, %.1f s\n", pairs.size(), concurrency, seconds);
    std::printf("%s\n", result.dump().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "legacy_accuracy: %s\n", e.what());
    return 1;
  }
  return 0;
}
