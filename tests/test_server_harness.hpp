// Runs the real `facematch serve` binary on 127.0.0.1 at a free port and builds requests the way
// clients build them. Shared by the server tests and the hostile-input tests.
#pragma once

#include <httplib.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace facematch::testing {

// Starts argv[0] (a path) with `env` ("NAME=value") added to this process's environment, stdin from
// /dev/null, stdout onto `stdout_fd` (/dev/null when -1) and stderr into `stderr_path`. The child gets
// SIGKILL when the test process dies, so no server outlives a crashed test.
pid_t spawn_child(const std::vector<std::string>& argv, const std::vector<std::string>& env, int stdout_fd,
                  const std::filesystem::path& stderr_path);

class ServerProcess {
 public:
  // Starts `facematch serve --port 0 --bind 127.0.0.1 --models <models_dir()> --log-level warn <args>`
  // (without --port 0 or --log-level warn when `args` set a port or a level)
  // with `env` ("NAME=value") added to the environment, and waits for its "listening on" line.
  explicit ServerProcess(const std::vector<std::string>& args = {}, const std::vector<std::string>& env = {});
  ~ServerProcess();  // SIGKILL if still running
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // Polls GET /readyz until 200 (throws after `timeout`).
  void wait_ready(std::chrono::seconds timeout = std::chrono::seconds(60)) const;
  std::unique_ptr<httplib::Client> client(std::chrono::seconds read_timeout = std::chrono::seconds(60)) const;
  // Sends `signal` and waits for the exit; returns the exit status (-1 on a crash or timeout).
  int stop(int signal, std::chrono::seconds timeout = std::chrono::seconds(30));
  bool running();
  // The server's stderr so far, for failure messages.
  std::string log() const;

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::filesystem::path log_path_;
};

std::string read_text(const std::filesystem::path& path);
// A photo from ../shared/faces (fails with a message naming it when missing).
std::filesystem::path shared_face(const std::string& name);
std::string base64(const std::string& bytes);
// The original client: cv2.imread (BGR), cv2.resize to 224x224, nested float list, optionally with the
// leading batch dimension ([1][224][224][3]) as np.expand_dims gives.
nlohmann::json legacy_image(const std::filesystem::path& path, bool batch_dimension);
// The same from an image already in memory (CV_8UC3, BGR), resized to 224x224 like the photo.
nlohmann::json legacy_image(const cv::Mat& bgr_photo, bool batch_dimension);

}  // namespace facematch::testing
