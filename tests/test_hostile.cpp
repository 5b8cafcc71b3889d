// Hostile input against the real `facematch serve` over HTTP (issue 6): the generated set of broken,
// malicious and unusual requests (tools/hostile/make_hostile.cpp) each gets its JSON answer in bounded
// time while the server's memory stays bounded; slow, idle and oversized clients are cut off over raw
// sockets; and the server answers /healthz after every one of them.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "test_server_harness.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using facematch::testing::read_text;
using facematch::testing::ServerProcess;
using nlohmann::json;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Sanitizer builds run several times slower; the bounds are for the release build times this.
double slack() {
#if defined(__SANITIZE_ADDRESS__)
  return 4.0;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return 4.0;
#else
  return 1.0;
#endif
#else
  return 1.0;
#endif
}

// VmRSS of a process in MB.
double rss_mb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return -1;
}

std::vector<std::string> split(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string word; in >> word;) out.push_back(word);
  return out;
}

// The set, generated once per test process into the build folder.
fs::path hostile_set() {
  static const fs::path dir = [] {
    const fs::path d = fs::path(FACEMATCH_BINARY_DIR) / "hostile" / std::to_string(::getpid());
    fs::remove_all(d);
    const std::string command = std::string(FACEMATCH_MAKE_HOSTILE) + " --out '" + d.string() + "' --faces '" +
                                (facematch::testing::shared_dir() / "faces").string() + "' >/dev/null";
    if (std::system(command.c_str()) != 0) throw std::runtime_error("failed: " + command);
    return d;
  }();
  return dir;
}

void expect_healthy(ServerProcess& server, const std::string& after) {
  ASSERT_TRUE(server.running()) << "the server died after " << after << ": " << server.log();
  auto r = server.client(std::chrono::seconds(5))->Get("/healthz");
  ASSERT_TRUE(r) << "no /healthz answer after " << after << ": " << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200) << after;
}

TEST(Hostile, EveryInputGetsItsAnswerInBoundedTimeAndMemory) {
  const auto dir = hostile_set();
  ServerProcess server(split(read_text(dir / "server_flags.txt")));
  server.wait_ready();
  auto c = server.client(std::chrono::seconds(60));
  const auto cases = facematch::testing::read_jsonl(dir / "manifest.jsonl");
  ASSERT_GT(cases.size(), 100u);

  // Warm the allocator with the control image first: RSS is compared against this plateau.
  for (int i = 0; i < 3; ++i) ASSERT_EQ(c->Post("/detect", read_text(dir / "control-jpeg-detect-json.body"), "application/json")->status, 200);
  const double warm_rss = rss_mb(server.pid());
  double peak_rss = warm_rss, slowest = 0;
  std::string slowest_name;
  for (const auto& k : cases) {
    const std::string name = k["name"];
    SCOPED_TRACE(name);
    const auto body = read_text(dir / k["body"].get<std::string>());
    const auto start = Clock::now();
    auto r = c->Post(k["path"].get<std::string>(), body, k["content_type"].get<std::string>());
    const double took = seconds_since(start);
    if (took > slowest) slowest = took, slowest_name = name;
    ASSERT_TRUE(r) << "no answer: " << httplib::to_string(r.error()) << "\n" << server.log();
    EXPECT_LT(took, 5.0 * slack()) << "seconds";
    EXPECT_EQ(r->status, k["status"].get<int>()) << r->body.substr(0, 500);
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
    const auto j = json::parse(r->body, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(j.is_discarded()) << r->body.substr(0, 500);
    if (k.contains("code")) {
      ASSERT_TRUE(j.contains("error")) << r->body.substr(0, 500);
      EXPECT_EQ(j["error"]["code"], k["code"]) << r->body.substr(0, 500);
      EXPECT_FALSE(j["error"]["message"].get<std::string>().empty());
    } else {
      EXPECT_EQ(j.value("width", -1), k["width"].get<int>()) << r->body.substr(0, 300);
      EXPECT_EQ(j.value("height", -1), k["height"].get<int>());
      const auto faces = j.contains("faces") ? j["faces"].size() : 0u;
      EXPECT_GE(faces, k["min_faces"].get<std::size_t>());
      EXPECT_LE(faces, k["max_faces"].get<std::size_t>());
    }
    peak_rss = std::max(peak_rss, rss_mb(server.pid()));
    expect_healthy(server, name);
  }
  // Nothing in the set may decode to more than the 1 MP limit allows (a few MB per image), so the
  // peak stays within a bounded margin of the warmed-up server, and memory is returned afterwards.
  const double final_rss = rss_mb(server.pid());
  std::printf("hostile set: %zu requests, slowest %.2f s (%s), RSS warm %.0f MB, peak %.0f MB, final %.0f MB\n",
              cases.size(), slowest, slowest_name.c_str(), warm_rss, peak_rss, final_rss);
  EXPECT_LT(peak_rss, warm_rss + 400 * slack());
  EXPECT_LT(final_rss, warm_rss * 1.25 + 100);
}

// --- raw sockets -------------------------------------------------------------------------------

class Socket {
 public:
  explicit Socket(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("connect failed");
  }
  ~Socket() { ::close(fd_); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  // False once the peer has closed (or reset) the connection.
  bool send(const std::string& data) {
    std::size_t at = 0;
    while (at < data.size()) {
      const auto n = ::send(fd_, data.data() + at, data.size() - at, MSG_NOSIGNAL);
      if (n <= 0) return false;
      at += static_cast<std::size_t>(n);
    }
    return true;
  }
  // Reads until the peer closes or `timeout` passes; returns what arrived and whether it closed.
  std::pair<std::string, bool> read_until_closed(std::chrono::milliseconds timeout) {
    std::string got;
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (::poll(&p, 1, static_cast<int>(std::max<long>(left, 1))) <= 0) continue;
      char buffer[65536];
      const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) return {got, true};
      got.append(buffer, static_cast<std::size_t>(n));
    }
    return {got, false};
  }
  // True if the server has closed its side (EOF or reset) by now, without waiting.
  bool closed_by_peer() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) return false;
    char c;
    return ::recv(fd_, &c, 1, MSG_PEEK) <= 0;
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

// One server with short timeouts for every slow-client test (starting one costs a model load).
ServerProcess& timeout_server() {
  static ServerProcess* server = [] {
    auto* s = new ServerProcess({"--workers", "1", "--read-timeout", "1", "--write-timeout", "1",
                                 "--keep-alive-timeout", "1", "--keep-alive-max", "1000000"});
    s->wait_ready();
    return s;
  }();
  return *server;
}

TEST(Hostile, IdleConnectionIsClosedAfterTheKeepAliveTimeout) {
  auto& server = timeout_server();
  Socket s(server.port());
  const auto start = Clock::now();
  const auto [got, closed] = s.read_until_closed(std::chrono::seconds(10));
  EXPECT_TRUE(closed);
  EXPECT_LT(seconds_since(start), 1.0 + 2.0 * slack());
  expect_healthy(server, "an idle connection");
}

TEST(Hostile, SlowlorisHeadersAreCutOff) {
  auto& server = timeout_server();
  Socket s(server.port());
  const auto start = Clock::now();
  // A header line every 0.3 s: each read is well within the 1 s read timeout, so only a bound on the
  // whole request head can stop it.
  bool open = s.send("POST /verify HTTP/1.1\r\nHost: x\r\n");
  for (int i = 0; open && seconds_since(start) < 30; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    open = !s.closed_by_peer() && s.send("X-Slow-" + std::to_string(i) + ": y\r\n");
  }
  EXPECT_FALSE(open) << "a client trickling headers kept its connection for 30 s";
  EXPECT_LT(seconds_since(start), 15.0);
  expect_healthy(server, "a slowloris client");
}

TEST(Hostile, StalledBodyIsCutOffByTheReadTimeout) {
  auto& server = timeout_server();
  Socket s(server.port());
  ASSERT_TRUE(s.send("POST /verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     "Content-Length: 100000\r\n\r\n{\"img1\": \""));
  const auto start = Clock::now();
  const auto [got, closed] = s.read_until_closed(std::chrono::seconds(15));
  EXPECT_TRUE(closed);
  EXPECT_LT(seconds_since(start), 1.0 + 3.0 * slack());
  expect_healthy(server, "a stalled body");
}

TEST(Hostile, OversizedHeaderLineIsRefused) {
  auto& server = timeout_server();
  Socket s(server.port());
  s.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n");
  const auto [got, closed] = s.read_until_closed(std::chrono::seconds(10));
  EXPECT_TRUE(closed);
  EXPECT_EQ(got.find("HTTP/1.1 200"), std::string::npos) << got.substr(0, 200);
  expect_healthy(server, "an oversized header line");
}

TEST(Hostile, EndlessHeadersAreRefusedWithBoundedMemory) {
  auto& server = timeout_server();
  const double before = rss_mb(server.pid());
  Socket s(server.port());
  // 64 MB of small headers as fast as the server reads them: a request head must have a size limit.
  bool open = s.send("GET /healthz HTTP/1.1\r\nHost: x\r\n");
  const std::string chunk = [] {
    std::string c;
    for (int i = 0; i < 1000; ++i) c += "X-Many-" + std::to_string(i) + ": " + std::string(40, 'v') + "\r\n";
    return c;
  }();
  std::size_t sent = 0;
  while (open && sent < (64u << 20)) {
    open = s.send(chunk);
    sent += chunk.size();
  }
  const double after = rss_mb(server.pid());
  std::printf("sent %zu MB of headers before the server closed (%s); RSS %.0f -> %.0f MB\n", sent >> 20,
              open ? "it did not" : "it did", before, after);
  EXPECT_FALSE(open) << "the server accepted 64 MB of request headers";
  EXPECT_LT(after, before + 50);
  expect_healthy(server, "endless headers");
}

}  // namespace
