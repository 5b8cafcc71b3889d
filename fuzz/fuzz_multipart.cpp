// libFuzzer target: a raw HTTP request (request line, headers, body) through httplib's own request
// handling, as `facematch serve` receives it: header parsing, Content-Length and chunked bodies, the
// payload limit and the multipart/form-data parser. The route reads the form the way the server's
// multipart branch does and parses its option fields with the server's parser.
#include <httplib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "server/http_error.hpp"
#include "server/request_parse.hpp"

namespace {

class FuzzedStream final : public httplib::Stream {
 public:
  FuzzedStream(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool is_readable() const override { return true; }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, std::size_t size) override {
    size = std::min(size, size_ - pos_);
    std::memcpy(ptr, data_ + pos_, size);
    pos_ += size;
    return static_cast<ssize_t>(size);
  }
  ssize_t write(const char*, std::size_t size) override { return static_cast<ssize_t>(size); }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 40000;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 8080;
  }
  socket_t socket() const override { return 0; }

 private:
  const std::uint8_t* data_;
  std::size_t size_, pos_ = 0;
};

std::optional<std::string> text(const httplib::Request& req, const char* name) {
  if (!req.has_file(name)) return std::nullopt;
  return req.get_file_value(name).content;
}

class FuzzableServer final : public httplib::Server {
 public:
  FuzzableServer() {
    set_payload_max_length(1u << 20);
    Post("/verify", [](const httplib::Request& req, httplib::Response& res) {
      if (!req.is_multipart_form_data()) return;
      try {
        const auto o = facematch::server::parse_option_fields(text(req, "threshold"), text(req, "detector"),
                                                              text(req, "align"), text(req, "face_policy"));
        (void)o.apply({});
        (void)o.threshold_or(0.6);
        res.status = req.has_file("img1") && req.has_file("img2") ? 200 : 400;
      } catch (const facematch::server::HttpError&) {
        res.status = 400;
      }
    });
  }
  void handle(const std::uint8_t* data, std::size_t size) {
    FuzzedStream stream(data, size);
    bool closed = false;
    process_request(stream, /*close_connection=*/true, closed, nullptr);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static FuzzableServer server;
  server.handle(data, size);
  return 0;
}
