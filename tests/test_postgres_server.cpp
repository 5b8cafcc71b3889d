// The throw-away PostgreSQL server the gallery tests run against: it really serves, it stops and comes
// back with its data, and it leaves nothing behind, not even when the test process is killed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "postgres_server.hpp"

namespace facematch::testing {
namespace {

TEST(PostgresServer, ServesStopsAndComesBackWithItsData) {
  std::filesystem::path folder;
  {
    PostgresServer server;
    folder = server.folder();
    EXPECT_EQ(server.dsn(),
              "postgresql://postgres@127.0.0.1:" + std::to_string(server.port()) + "/facematch");
    server.psql("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')");
    server.stop();
    EXPECT_FALSE(server.running());
    EXPECT_THROW(server.psql("SELECT 1"), std::runtime_error);
    server.start();
    EXPECT_EQ(server.psql("SELECT v FROM kept"), "still here\n");
    server.create_database("other");
    EXPECT_TRUE(std::filesystem::exists(folder / "data"));
  }
  EXPECT_FALSE(std::filesystem::exists(folder));
}

TEST(PostgresServer, NothingOutlivesAKilledTestProcess) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    try {
      PostgresServer server;
      const std::string line = server.dsn() + " " + server.folder().string() + "\n";
      if (::write(fds[1], line.data(), line.size()) < 0) ::_exit(3);
    } catch (...) {
      ::_exit(2);
    }
    ::_exit(4);  // unreachable: the server's destructor must not run, SIGKILL comes first
  }
  ::close(fds[1]);
  // Wait for the DSN and folder, then kill the child before it can unwind.
  std::string line;
  char c;
  while (::read(fds[0], &c, 1) == 1 && c != '\n') line += c;
  ::close(fds[0]);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ASSERT_NE(line.find(' '), std::string::npos) << "the child could not start a server";
  const std::string dsn = line.substr(0, line.find(' '));
  const std::filesystem::path folder = line.substr(line.find(' ') + 1);
  const std::string port = dsn.substr(dsn.rfind(':') + 1, dsn.rfind('/') - dsn.rfind(':') - 1);
  // The watchdog stops the orphaned server (pg_isready then fails) and deletes its folder.
  const std::string ready = "/usr/lib/postgresql/15/bin/pg_isready -q -h 127.0.0.1 -p " + port;
  bool gone = false;
  for (int i = 0; i < 300 && !gone; ++i) {
    gone = std::system(ready.c_str()) != 0;
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(gone) << "a server is still listening on port " << port << " after its test process was killed";
  for (int i = 0; i < 100 && std::filesystem::exists(folder); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_FALSE(std::filesystem::exists(folder)) << folder << " outlived its test process";
}

}  // namespace
}  // namespace facematch::testing
