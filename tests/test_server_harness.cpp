#include "test_server_harness.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "test_support.hpp"

extern char** environ;

namespace facematch::testing {

pid_t spawn_child(const std::vector<std::string>& argv_s, const std::vector<std::string>& env, int stdout_fd,
                  const std::filesystem::path& stderr_path) {
  std::vector<std::string> env_s;
  for (char** e = environ; *e; ++e) env_s.emplace_back(*e);
  env_s.insert(env_s.end(), env.begin(), env.end());
  // Everything the child needs is prepared before fork (no allocation after it).
  std::vector<char*> argv, envp;
  std::vector<std::string> args = argv_s;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  const std::string log = stderr_path.string();
  const pid_t test_process = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    // The child dies with the test process, whatever way that ends: ctest runs each test in a process
    // of its own, and the shared servers of the suites (main_server, timeout_server) are never destroyed.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != test_process) ::_exit(127);
    const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) ::dup2(null, STDIN_FILENO);
    ::dup2(stdout_fd >= 0 ? stdout_fd : null, STDOUT_FILENO);
    const int err = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (err >= 0) ::dup2(err, STDERR_FILENO);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  return pid;
}

ServerProcess::ServerProcess(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  require_file(models_dir() / "face_recognition_model.bin", "run ./setup.sh or tools/fetch-models.sh");
  static int counter = 0;
  log_path_ = std::filesystem::temp_directory_path() /
              ("facematch_server_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".log");
  std::vector<std::string> argv_s = {FACEMATCH_CLI, "serve",    "--bind",
                                     "127.0.0.1",   "--models", models_dir().string()};
  // A test may ask for its own port (a restarted replica keeps its address) or level (a test that reads
  // the request log); a flag given twice is an error.
  if (std::find(args.begin(), args.end(), "--port") == args.end())
    argv_s.insert(argv_s.end(), {"--port", "0"});
  if (std::find(args.begin(), args.end(), "--log-level") == args.end())
    argv_s.insert(argv_s.end(), {"--log-level", "warn"});
  argv_s.insert(argv_s.end(), args.begin(), args.end());

  int out[2];
  // Close-on-exec: the child keeps only the end dup2'ed onto its stdout.
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  try {
    pid_ = spawn_child(argv_s, env, out[1], log_path_);
  } catch (...) {
    ::close(out[0]);
    ::close(out[1]);
    throw;
  }
  ::close(out[1]);
  // Read stdout until the one line the server prints: "facematch listening on http://127.0.0.1:PORT".
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (text.find('\n') == std::string::npos) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{out[0], POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buffer[256];
    const auto n = ::read(out[0], buffer, sizeof buffer);
    if (n <= 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  const std::string prefix = "facematch listening on http://127.0.0.1:";
  const auto at = text.find(prefix);
  if (at == std::string::npos) {
    const auto message = "server did not start: stdout '" + text + "', stderr: " + this->log();
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    throw std::runtime_error(message);
  }
  port_ = std::stoi(text.substr(at + prefix.size()));
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  std::error_code ignored;
  std::filesystem::remove(log_path_, ignored);
}

void ServerProcess::wait_ready(std::chrono::seconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto c = client(std::chrono::seconds(5));
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto r = c->Get("/readyz"); r && r->status == 200) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("server not ready after " + std::to_string(timeout.count()) + " s: " + log());
}

std::unique_ptr<httplib::Client> ServerProcess::client(std::chrono::seconds read_timeout) const {
  auto c = std::make_unique<httplib::Client>("127.0.0.1", port_);
  c->set_read_timeout(read_timeout);
  c->set_write_timeout(std::chrono::seconds(30));
  c->set_connection_timeout(std::chrono::seconds(5));
  return c;
}

bool ServerProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

int ServerProcess::stop(int signal, std::chrono::seconds timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, signal);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

std::string ServerProcess::log() const { return read_text(log_path_); }

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::filesystem::path shared_face(const std::string& name) {
  const auto path = shared_dir() / "faces" / name;
  require_file(path, "../shared/faces");
  return path;
}

std::string base64(const std::string& bytes) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const auto v = (static_cast<unsigned char>(bytes[i]) << 16) |
                   (static_cast<unsigned char>(bytes[i + 1]) << 8) | static_cast<unsigned char>(bytes[i + 2]);
    for (int s : {18, 12, 6, 0}) out += alphabet[(v >> s) & 63];
  }
  if (i < bytes.size()) {
    const bool two = i + 1 < bytes.size();
    const auto v = (static_cast<unsigned char>(bytes[i]) << 16) |
                   (two ? static_cast<unsigned char>(bytes[i + 1]) << 8 : 0);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += two ? alphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

nlohmann::json legacy_image(const std::filesystem::path& path, bool batch_dimension) {
  const cv::Mat read = cv::imread(path.string(), cv::IMREAD_COLOR);
  if (read.empty()) throw std::runtime_error("cannot read " + path.string());
  return legacy_image(read, batch_dimension);
}

nlohmann::json legacy_image(const cv::Mat& bgr_photo, bool batch_dimension) {
  cv::Mat bgr;
  cv::resize(bgr_photo, bgr, cv::Size(224, 224));  // cv2.resize's default: bilinear
  nlohmann::json rows = nlohmann::json::array();
  for (int y = 0; y < bgr.rows; ++y) {
    nlohmann::json row = nlohmann::json::array();
    for (int x = 0; x < bgr.cols; ++x) {
      const auto& p = bgr.at<cv::Vec3b>(y, x);
      // The original client sent numpy float arrays: json writes 12.0, not 12.
      row.push_back({static_cast<double>(p[0]), static_cast<double>(p[1]), static_cast<double>(p[2])});
    }
    rows.push_back(std::move(row));
  }
  if (!batch_dimension) return rows;
  return nlohmann::json::array({std::move(rows)});
}

}  // namespace facematch::testing
