// httplib::Server with the limits httplib 0.11 lacks, so that slow or endless clients cannot hold a
// connection thread or grow memory: a request head (request line and headers) must arrive within the
// read timeout in total and within max_head_bytes (httplib bounds each line but not their number or
// their pace), and a body must arrive within body_time_factor read timeouts in total. Everything else
// (per-read and per-write timeouts, keep-alive) behaves as in httplib.
#pragma once

#include <httplib.h>

#include <cstddef>

namespace facematch::server {

class BoundedServer : public httplib::Server {
 public:
  std::size_t max_head_bytes = 64 * 1024;
  int body_time_factor = 12;

  // Called from a handler (on the connection's thread) that answers without reading the request's
  // body: the connection is closed after the answer, since the unread body would be taken for the
  // next request.
  static void close_after_this_request();

 private:
  // httplib's own loop, with BoundedStream in place of its socket stream.
  bool process_and_close_socket(socket_t sock) override;
};

}  // namespace facematch::server
