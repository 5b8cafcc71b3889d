// The HTTP benches' client loop: `concurrency` keep-alive connections to 127.0.0.1:port, each taking the
// next index until `count` requests are done, so a slow request never holds the others back.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <thread>
#include <vector>

namespace facematch::bench {

// Runs `task(client, i)` for every i in [0, count), each on one of the connections' threads.
template <typename Task>
void run_on_keep_alive_clients(int port, int concurrency, std::size_t count, Task&& task) {
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&] {
      httplib::Client client("127.0.0.1", port);
      client.set_keep_alive(true);
      client.set_read_timeout(std::chrono::seconds(120));
      client.set_write_timeout(std::chrono::seconds(30));
      client.set_connection_timeout(std::chrono::seconds(5));
      for (std::size_t i; (i = next.fetch_add(1)) < count;) task(client, i);
    });
  }
  for (auto& t : threads) t.join();
}

}  // namespace facematch::bench
