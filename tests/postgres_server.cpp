#include "postgres_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace facematch::testing {
namespace {

namespace fs = std::filesystem;

// Debian's postgresql-15 keeps the server programs off PATH.
const fs::path kBin = "/usr/lib/postgresql/15/bin";

bool is_root() { return ::geteuid() == 0; }

// PostgreSQL refuses to run as root; Debian's package creates the `postgres` user for it.
std::vector<std::string> as_server_user(std::vector<std::string> argv) {
  if (!is_root()) return argv;
  std::vector<std::string> wrapped = {"/usr/sbin/runuser", "-u", "postgres", "--"};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct Output {
  int status = -1;   // exit status, -1 when killed by a signal
  std::string text;  // stdout and stderr together
};

// Runs argv (searched on PATH) in `cwd` with stdout and stderr captured in a file next to it.
Output run(const std::vector<std::string>& argv, const fs::path& cwd) {
  const fs::path out_path = cwd / ("command-" + std::to_string(::getpid()) + ".out");
  // Everything the child needs is prepared before fork (no allocation after it).
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const std::string dir = cwd.string();
  const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) throw std::runtime_error("postgres test server: cannot create " + out_path.string());
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(out);
    throw std::runtime_error("postgres test server: fork failed");
  }
  if (pid == 0) {
    const int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) ::dup2(null, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    if (::chdir(dir.c_str()) != 0) ::_exit(126);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(out);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  Output result;
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.text = slurp(out_path);
  fs::remove(out_path);
  return result;
}

std::string joined(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) {
    if (!s.empty()) s += ' ';
    s += a;
  }
  return s;
}

Output run_checked(const std::vector<std::string>& argv, const fs::path& cwd,
                   const std::string& extra_log = {}) {
  Output result = run(argv, cwd);
  if (result.status != 0) {
    std::string message = "postgres test server: `" + joined(argv) + "` failed (status ";
    message += std::to_string(result.status);
    message += "): " + result.text;
    if (!extra_log.empty()) message += "\nserver log:\n" + extra_log;
    throw std::runtime_error(message);
  }
  return result;
}

}  // namespace

int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("free_loopback_port: socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("free_loopback_port: cannot find a free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

PostgresServer::PostgresServer(const std::string& database) : database_(database) {
  if (!fs::exists(kBin / "initdb")) {
    throw std::runtime_error("postgres test server: " + (kBin / "initdb").string() +
                             " is missing; install postgresql-15 (./setup.sh does)");
  }
  std::string pattern = (fs::temp_directory_path() / "facematch-pg-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("postgres test server: mkdtemp failed");
  root_ = pattern;
  if (is_root()) {
    const passwd* user = ::getpwnam("postgres");
    if (user == nullptr) {
      fs::remove_all(root_);
      throw std::runtime_error("postgres test server: no `postgres` user (install postgresql-15)");
    }
    if (::chown(root_.c_str(), user->pw_uid, user->pw_gid) != 0) {
      fs::remove_all(root_);
      throw std::runtime_error("postgres test server: cannot hand " + root_.string() + " to postgres");
    }
  }

  // The watchdog: blocks on a pipe only this process holds the write end of; when the pipe closes
  // without the folder being gone (the test process died), it stops the server and deletes the folder.
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    fs::remove_all(root_);
    throw std::runtime_error("postgres test server: pipe failed");
  }
  const std::string data = (root_ / "data").string();
  std::string script = "if [ -f '" + data + "/postmaster.pid' ]; then ";
  script += joined(
      as_server_user({(kBin / "pg_ctl").string(), "-D", "'" + data + "'", "-w", "-m", "immediate", "stop"}));
  script += "; fi; rm -rf '" + root_.string() + "'";
  const char* sh_args[] = {"/bin/sh", "-c", script.c_str(), nullptr};
  watchdog_ = ::fork();
  if (watchdog_ == 0) {
    ::setsid();  // outlives a Ctrl-C or a kill of the test's process group
    const int null = ::open("/dev/null", O_RDWR);
    if (null >= 0) {
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::dup2(null, 2);
    }
    for (int fd = 3; fd < 1024; ++fd) {
      if (fd != fds[0]) ::close(fd);
    }
    char byte;
    while (::read(fds[0], &byte, 1) != 0 && errno == EINTR) {
    }
    ::execv(sh_args[0], const_cast<char* const*>(sh_args));
    ::_exit(127);
  }
  ::close(fds[0]);
  watchdog_pipe_ = fds[1];
  if (watchdog_ < 0) {
    ::close(watchdog_pipe_);
    fs::remove_all(root_);
    throw std::runtime_error("postgres test server: fork failed");
  }

  try {
    fs::create_directory(root_ / "socket");
    if (is_root()) {
      const passwd* user = ::getpwnam("postgres");
      if (::chown((root_ / "socket").c_str(), user->pw_uid, user->pw_gid) != 0) {
        throw std::runtime_error("postgres test server: cannot hand the socket folder to postgres");
      }
    }
    // --no-sync and fsync=off: the tests never survive an operating-system crash, and a synced
    // initdb alone takes seconds on a busy disk.
    run_checked(as_server_user({(kBin / "initdb").string(), "-D", data, "-U", "postgres", "-A", "trust", "-E",
                                "UTF8", "--no-locale", "--no-sync", "--no-instructions"}),
                root_);
    std::ofstream conf(root_ / "data" / "postgresql.conf", std::ios::app);
    conf << "\n# facematch tests\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '"
         << (root_ / "socket").string()
         << "'\nfsync = off\nfull_page_writes = off\nshared_buffers = 16MB\nmax_connections = 60\n";
    conf.close();
    start();
    run_checked({(kBin / "createdb").string(), "-h", "127.0.0.1", "-p", std::to_string(port_), "-U",
                 "postgres", database_},
                root_, log());
  } catch (...) {
    shut_down();
    throw;
  }
}

PostgresServer::~PostgresServer() { shut_down(); }

void PostgresServer::shut_down() noexcept {
  if (root_.empty()) return;
  try {
    if (running_) stop();
  } catch (...) {
    // The watchdog below still stops it (immediate mode) once the pipe closes.
  }
  if (!running_) {
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }
  if (watchdog_pipe_ >= 0) ::close(watchdog_pipe_);
  watchdog_pipe_ = -1;
  if (watchdog_ > 0) {
    while (::waitpid(watchdog_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  watchdog_ = -1;
  root_.clear();
}

std::string PostgresServer::dsn(const std::string& database) const {
  std::string s = "postgresql://postgres@127.0.0.1:";
  s += std::to_string(port_);
  s += "/" + database;
  return s;
}

void PostgresServer::start() {
  if (running_) return;
  const std::string data = (root_ / "data").string();
  const std::string log_file = (root_ / "server.log").string();
  // A port found free can be taken before the server binds it; another one is tried then.
  std::string failures;
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (port_ == 0 || attempt > 0) port_ = free_loopback_port();
    const Output out = run(as_server_user({(kBin / "pg_ctl").string(), "-D", data, "-l", log_file, "-w", "-t",
                                           "60", "-o", "-p " + std::to_string(port_), "start"}),
                           root_);
    if (out.status == 0) {
      running_ = true;
      return;
    }
    failures += out.text;
  }
  throw std::runtime_error("postgres test server: pg_ctl start failed: " + failures + "\nserver log:\n" +
                           log());
}

void PostgresServer::stop() {
  if (!running_) return;
  run_checked(as_server_user({(kBin / "pg_ctl").string(), "-D", (root_ / "data").string(), "-w", "-t", "60",
                              "-m", "fast", "stop"}),
              root_, log());
  running_ = false;
}

void PostgresServer::create_database(const std::string& name) const {
  run_checked(
      {(kBin / "createdb").string(), "-h", "127.0.0.1", "-p", std::to_string(port_), "-U", "postgres", name},
      root_, log());
}

std::string PostgresServer::psql(const std::string& sql) const {
  return run_checked({(kBin / "psql").string(), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h",
                      "127.0.0.1", "-p", std::to_string(port_), "-U", "postgres", "-d", database_, "-c", sql},
                     root_, log())
      .text;
}

std::string PostgresServer::log() const { return slurp(root_ / "server.log"); }

}  // namespace facematch::testing
