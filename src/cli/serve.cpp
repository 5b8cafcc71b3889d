// `serve`: the HTTP service. Flags have FACEMATCH_* environment twins so containers need no wrapper.
#include <malloc.h>
#include <pthread.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "cli/common.hpp"
#include "facematch/error.hpp"
#include "facematch/operating_point.hpp"
#include "server/server.hpp"

namespace facematch::cli {
namespace {

struct ServeArgs {
  CommonOptions common;
  server::ServerConfig config;
  double max_body_mb = 20;
  std::string api_keys_file;
  std::string log_level = "info";
  double drain_delay_s = 0;
  std::optional<std::string> operating_point;
  std::string legacy_align{to_string(server::ServerConfig{}.legacy_align)};
};

int run_serve(ServeArgs& args) {
  // Every thread started from here on inherits this mask, so only the waiter below sees the signals.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a client closing early must not kill the process

  // glibc gives busy threads arenas of their own (up to 8 per core), each keeping the high-water mark
  // of the requests it served: over 10,000 mixed requests RSS grew 15.8% with the default and 0.3%
  // with two arenas, at the same throughput (bench/soak.py soak). MALLOC_ARENA_MAX still wins when set.
  if (!std::getenv("MALLOC_ARENA_MAX")) mallopt(M_ARENA_MAX, 2);

  spdlog::set_default_logger(spdlog::stderr_color_mt("facematch"));
  spdlog::set_level(spdlog::level::from_str(args.log_level));

  auto& config = args.config;
  config.pipeline = args.common.pipeline();
  config.legacy_align = parse_align(args.legacy_align);
  if (!(args.max_body_mb > 0)) throw Error(ErrorCode::invalid_argument, "--max-body-mb must be positive");
  if (!(args.drain_delay_s >= 0 && args.drain_delay_s <= 3600))
    throw Error(ErrorCode::invalid_argument, "--drain-delay must be 0 to 3600 seconds");
  config.max_body_bytes = static_cast<std::size_t>(args.max_body_mb * 1024 * 1024);
  check_threshold(config.threshold, "--threshold");
  if (args.operating_point) {
    config.operating_point = resolve_operating_point(*args.operating_point, config.pipeline);
    config.threshold = config.operating_point->point.threshold;
  }
  if (!args.api_keys_file.empty()) config.api_keys = server::read_api_keys(args.api_keys_file);
  if (const char* env = std::getenv("FACEMATCH_API_KEYS"); env && *env) {
    for (auto& key : server::split_api_keys(env)) config.api_keys.push_back(std::move(key));
  }

  server::Service service(load_models(args.common), config);
  const int port = service.bind();
  std::printf("facematch listening on http://%s:%d\n", config.bind.c_str(), port);
  std::fflush(stdout);
  spdlog::info("workers {}, queue {}, max body {} MB, API keys {}, threshold {}{}",
               config.workers ? config.workers : std::thread::hardware_concurrency(), config.queue,
               args.max_body_mb, config.api_keys.empty() ? "off" : "on", config.threshold,
               config.operating_point ? " (operating point " + config.operating_point->point.name + ", " +
                                            config.operating_point->origin + ")"
                                      : std::string());

  std::atomic<bool> stopping_by_itself{false};  // warm-up failed or listening ended: no drain delay
  std::thread signal_waiter([&] {
    int signal = 0;
    sigwait(&stop_signals, &signal);
    if (args.drain_delay_s > 0 && !stopping_by_itself) {
      // Serving on while the balancer's health check sees /readyz 503 and stops sending requests here:
      // closing the socket at once would refuse or cut off the requests it still routes to us.
      spdlog::info("signal {}: /readyz now 503, still serving for {} s (--drain-delay)", signal,
                   args.drain_delay_s);
      service.withdraw();
      const auto deadline =
          std::chrono::steady_clock::now() + std::chrono::duration<double>(args.drain_delay_s);
      for (auto left = deadline - std::chrono::steady_clock::now(); left.count() > 0;
           left = deadline - std::chrono::steady_clock::now()) {
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
        const timespec wait{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
        if (sigtimedwait(&stop_signals, nullptr, &wait) > 0) {
          spdlog::info("second signal: not waiting any longer");
          break;
        }
      }
    }
    spdlog::info("signal {}: finishing in-flight requests", signal);
    service.shutdown();
  });
  bool warm_up_failed = false;
  std::thread warm_up([&] {
    try {
      service.warm_up();
      spdlog::info("ready");
    } catch (const std::exception& e) {
      spdlog::error("warm-up inference failed: {}", e.what());
      warm_up_failed = true;
      stopping_by_itself = true;
      pthread_kill(signal_waiter.native_handle(), SIGTERM);
    }
  });
  service.run();
  warm_up.join();
  // run() also returns when listening fails; the waiter must then be woken to be joined.
  stopping_by_itself = true;
  pthread_kill(signal_waiter.native_handle(), SIGTERM);
  signal_waiter.join();
  spdlog::info("stopped");
  return warm_up_failed ? kExitError : 0;
}

}  // namespace

void add_serve_commands(CLI::App& app, CommandTable& commands) {
  auto args = std::make_shared<ServeArgs>();
  auto* cmd = app.add_subcommand("serve", "Run the HTTP verification service (see README: Service)");
  auto& c = args->config;
  cmd->add_option("--port", c.port, "TCP port; 0 picks a free one")
      ->envname("FACEMATCH_PORT")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--bind", c.bind, "Address to listen on (0.0.0.0 for every interface)")
      ->envname("FACEMATCH_BIND")
      ->capture_default_str();
  cmd->add_option("--workers", c.workers, "Inference workers; 0 = one per core")
      ->envname("FACEMATCH_WORKERS")
      ->capture_default_str();
  cmd->add_option("--queue", c.queue, "Requests that may wait for a worker; more are refused with 429")
      ->envname("FACEMATCH_QUEUE")
      ->capture_default_str();
  cmd->add_option("--max-body-mb", args->max_body_mb, "Refuse larger request bodies with 413")
      ->envname("FACEMATCH_MAX_BODY_MB")
      ->capture_default_str();
  cmd->add_option("--legacy-align", args->legacy_align,
                  "Alignment of the original route POST /, whose clients squash photos to 224x224: unsquash "
                  "(undoes the squash), similarity, affine or faceapi")
      ->envname("FACEMATCH_LEGACY_ALIGN")
      ->capture_default_str();
  auto* threshold = cmd->add_option("--threshold", c.threshold,
                                    "Same person when distance < threshold (requests may override)")
                        ->envname("FACEMATCH_THRESHOLD")
                        ->capture_default_str();
  cmd->add_option(
         "--operating-point", args->operating_point,
         "Threshold of a calibrated operating point: NAME (built in, e.g. far1e-3), FILE or FILE:NAME "
         "(README: Evaluation and operating points)")
      ->envname("FACEMATCH_OPERATING_POINT")
      ->excludes(threshold);
  cmd->add_option(
         "--api-keys", args->api_keys_file,
         "File of API keys, one per line; also $FACEMATCH_API_KEYS (comma separated). Unset: no keys")
      ->envname("FACEMATCH_API_KEYS_FILE");
  cmd->add_option("--gallery", c.gallery,
                  "Gallery of enrolled subjects: an SQLite file (created by the first enrolment) or a "
                  "postgresql:// URI; empty disables the gallery routes (README: Gallery)")
      ->envname("FACEMATCH_GALLERY")
      ->capture_default_str();
  cmd->add_option("--max-embed-images", c.max_embed_images, "Most images per /embed request")
      ->envname("FACEMATCH_MAX_EMBED_IMAGES")
      ->capture_default_str();
  cmd->add_option("--read-timeout", c.read_timeout_s, "Seconds a client may stall while sending")
      ->envname("FACEMATCH_READ_TIMEOUT")
      ->capture_default_str();
  cmd->add_option("--write-timeout", c.write_timeout_s, "Seconds a client may stall while receiving")
      ->envname("FACEMATCH_WRITE_TIMEOUT")
      ->capture_default_str();
  cmd->add_option("--keep-alive-timeout", c.keep_alive_timeout_s, "Seconds an idle connection is kept open")
      ->envname("FACEMATCH_KEEP_ALIVE_TIMEOUT")
      ->capture_default_str();
  cmd->add_option("--keep-alive-max", c.keep_alive_max_requests,
                  "Requests per connection before it is closed")
      ->envname("FACEMATCH_KEEP_ALIVE_MAX")
      ->capture_default_str();
  cmd->add_option(
         "--cors-origin", c.cors_origin,
         "Access-Control-Allow-Origin of every answer: * (any page), ORIGIN[,ORIGIN...] (echoed when "
         "the request's Origin is listed) or '' (no CORS headers)")
      ->envname("FACEMATCH_CORS_ORIGIN")
      ->capture_default_str();
  cmd->add_option("--drain-delay", args->drain_delay_s,
                  "Seconds between SIGTERM and closing the listening socket, serving on while /readyz "
                  "answers 503, so that a load balancer takes this replica out first; a second signal "
                  "ends the wait (README: Deployment)")
      ->envname("FACEMATCH_DRAIN_DELAY")
      ->capture_default_str();
  cmd->add_option("--log-level", args->log_level, "trace, debug, info, warn, error, critical or off")
      ->envname("FACEMATCH_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
  add_common(*cmd, args->common, true, /*with_env=*/true);
  cmd->remove_option(cmd->get_option("--json"));
  commands.push_back({cmd, [args] { return run_serve(*args); }});
}

}  // namespace facematch::cli
