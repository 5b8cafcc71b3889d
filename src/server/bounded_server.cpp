#include "server/bounded_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>

namespace facematch::server {
namespace {

using Clock = std::chrono::steady_clock;

// Waits up to `timeout` for `events` on `fd`; true when ready (or hung up: the read then returns 0).
bool wait_for(int fd, short events, Clock::duration timeout) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
  pollfd p{fd, events, 0};
  int r = 0;
  do {
    r = ::poll(&p, 1, static_cast<int>(std::clamp<long long>(ms, 0, INT_MAX)));
  } while (r < 0 && errno == EINTR);
  return r > 0;
}

void address(int fd, bool peer, std::string& ip, int& port) {
  sockaddr_storage a{};
  socklen_t length = sizeof a;
  const int r = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&a), &length)
                     : ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &length);
  if (r != 0) return;
  char text[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&a);
    ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    port = ntohs(v4->sin_port);
  } else if (a.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    port = ntohs(v6->sin6_port);
  }
  ip = text;
}

// One request's stream over the connection. httplib reads the head one byte at a time, so reads are
// buffered; the end of the head is the first CRLFCRLF handed to httplib.
class BoundedStream final : public httplib::Stream {
 public:
  BoundedStream(int fd, Clock::duration read_timeout, Clock::duration write_timeout,
                std::size_t max_head_bytes, Clock::duration body_time)
      : fd_(fd),
        read_timeout_(read_timeout),
        write_timeout_(write_timeout),
        max_head_bytes_(max_head_bytes),
        body_time_(body_time),
        deadline_(Clock::now() + read_timeout) {}

  // A limit was hit: the connection must be closed after this request.
  bool exceeded() const { return exceeded_; }

  bool is_readable() const override { return begin_ < end_ || wait_for(fd_, POLLIN, read_timeout_); }
  bool is_writable() const override { return wait_for(fd_, POLLOUT, write_timeout_); }

  ssize_t read(char* ptr, std::size_t size) override {
    if (exceeded_) return -1;
    if (begin_ == end_) {
      const auto left = deadline_ - Clock::now();
      if (left <= Clock::duration::zero()) return fail();
      if (!wait_for(fd_, POLLIN, std::min(read_timeout_, left))) return left <= read_timeout_ ? fail() : -1;
      ssize_t n = 0;
      do {
        n = ::recv(fd_, buffer_, sizeof buffer_, 0);
      } while (n < 0 && errno == EINTR);
      if (n <= 0) return n;
      begin_ = 0;
      end_ = static_cast<std::size_t>(n);
    }
    size = std::min(size, end_ - begin_);
    if (in_head_) {
      for (std::size_t i = 0; i < size && in_head_; ++i) {
        const char c = buffer_[begin_ + i];
        matched_ = (c == "\r\n\r\n"[matched_]) ? matched_ + 1 : (c == '\r' ? 1 : 0);
        if (matched_ == 4) {
          in_head_ = false;
          deadline_ = Clock::now() + body_time_;
        }
      }
      head_bytes_ += size;
      if (in_head_ && head_bytes_ > max_head_bytes_) return fail();
    }
    std::memcpy(ptr, buffer_ + begin_, size);
    begin_ += size;
    return static_cast<ssize_t>(size);
  }

  ssize_t write(const char* ptr, std::size_t size) override {
    if (!wait_for(fd_, POLLOUT, write_timeout_)) return -1;
    ssize_t n = 0;
    do {
      n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override { address(fd_, true, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { address(fd_, false, ip, port); }
  socket_t socket() const override { return fd_; }

 private:
  ssize_t fail() {
    exceeded_ = true;
    return -1;
  }

  int fd_;
  Clock::duration read_timeout_, write_timeout_;
  std::size_t max_head_bytes_;
  Clock::duration body_time_;
  Clock::time_point deadline_;
  bool in_head_ = true, exceeded_ = false;
  std::size_t head_bytes_ = 0, matched_ = 0;
  char buffer_[4096];
  std::size_t begin_ = 0, end_ = 0;
};

thread_local bool close_requested = false;

// After an answer given without reading the body: closing with unread bytes makes the kernel send a
// reset, which can destroy the answer before the client reads it, and a client seeing the connection end
// stops writing and reports a write error instead of the answer (httplib's does). So what the client
// still sends is read and dropped, until it closes (having read the answer) or for at most 2 s.
void linger_and_discard(int fd) {
  const auto until = Clock::now() + std::chrono::seconds(2);
  char sink[16384];
  while (Clock::now() < until && wait_for(fd, POLLIN, until - Clock::now())) {
    const auto n = ::recv(fd, sink, sizeof sink, 0);
    if (n == 0 || (n < 0 && errno != EINTR)) break;
  }
}

}  // namespace

void BoundedServer::close_after_this_request() { close_requested = true; }

bool BoundedServer::process_and_close_socket(socket_t sock) {
  using std::chrono::microseconds;
  using std::chrono::seconds;
  const auto read_timeout = seconds(read_timeout_sec_) + microseconds(read_timeout_usec_);
  const auto write_timeout = seconds(write_timeout_sec_) + microseconds(write_timeout_usec_);
  bool ok = false;
  for (std::size_t left = keep_alive_max_count_; left > 0; --left) {
    // Wait for the next request in short slices so that stop() is not held up by idle connections.
    const auto idle_until = Clock::now() + seconds(keep_alive_timeout_sec_);
    bool readable = false;
    while (!readable && svr_sock_ != INVALID_SOCKET && Clock::now() < idle_until)
      readable = wait_for(
          sock, POLLIN, std::min<Clock::duration>(std::chrono::milliseconds(100), idle_until - Clock::now()));
    if (!readable || svr_sock_ == INVALID_SOCKET) break;
    BoundedStream stream(sock, read_timeout, write_timeout, max_head_bytes, read_timeout * body_time_factor);
    bool closed = false;
    close_requested = false;
    ok = process_request(stream, left == 1, closed, nullptr);
    if (close_requested) {
      linger_and_discard(sock);
      break;
    }
    if (!ok || closed || stream.exceeded()) break;
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ok;
}

}  // namespace facematch::server
