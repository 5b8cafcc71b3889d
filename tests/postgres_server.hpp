// A real, throw-away PostgreSQL 15 server for tests: initdb into a temporary folder, started on a free
// loopback port (its socket folder inside the same temporary folder) as the `postgres` user when the
// tests run as root (PostgreSQL refuses root), stopped and deleted by the destructor. A watchdog process
// also stops and deletes it when the test process dies without unwinding (SIGKILL, abort), so no
// postmaster outlives a crashed test. Any failure throws std::runtime_error with the server's log:
// tests never skip for want of a server (setup.sh installs postgresql-15).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace facematch::testing {

// A loopback TCP port nobody listens on now (another process may still take it before it is bound:
// callers retry or accept the rare clash).
int free_loopback_port();

class PostgresServer {
 public:
  // Creates the cluster, starts it and creates `database`.
  explicit PostgresServer(const std::string& database = "facematch");
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // postgresql://postgres@127.0.0.1:PORT/DATABASE (trust authentication on loopback only).
  std::string dsn() const { return dsn(database_); }
  std::string dsn(const std::string& database) const;
  int port() const { return port_; }
  // The temporary folder holding the cluster (deleted at the end).
  const std::filesystem::path& folder() const { return root_; }
  // Another empty database on the same server, for tests that need a fresh one.
  void create_database(const std::string& name) const;
  // Runs one SQL statement through psql as the superuser (set-up and inspection in tests).
  std::string psql(const std::string& sql) const;

  // For "the database goes down and comes back" tests: a fast shutdown (clients are disconnected),
  // then a start on the same port with the same data.
  void stop();
  void start();
  bool running() const { return running_; }

  // The server's log so far, for failure messages.
  std::string log() const;

 private:
  void shut_down() noexcept;

  std::filesystem::path root_;  // temporary folder: data/, socket/, server.log
  std::string database_;
  int port_ = 0;
  bool running_ = false;
  pid_t watchdog_ = -1;
  int watchdog_pipe_ = -1;  // the watchdog cleans up when this end closes without a clean shutdown
};

}  // namespace facematch::testing
