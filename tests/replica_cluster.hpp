// Several `facematch serve` replicas sharing one real PostgreSQL gallery behind HAProxy, all on loopback
// ports; a load client that drives them through the balancer; and the faults of issue 16 (a replica
// killed, a rolling restart, PostgreSQL restarted) run under that load. The fault test
// (tests/test_replicas.cpp) asserts on what the faults do; the benchmark (bench/replica_faults.cpp) runs
// them longer and prints the table of docs/deployment.md.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "postgres_server.hpp"
#include "test_server_harness.hpp"

namespace facematch::testing {

using Clock = std::chrono::steady_clock;

// Debian's haproxy in front of the replicas: round robin, a health check of GET /readyz every 250 ms on
// each server (2 failures take it out, 2 successes bring it back), connection failures retried on
// another server. Each answered request is logged with the client's X-Request-Id and the server that
// answered it, so that a failure can be traced to the replica it was in flight on.
class Balancer {
 public:
  Balancer(const std::vector<int>& replica_ports, const std::filesystem::path& folder);
  ~Balancer();
  Balancer(const Balancer&) = delete;
  Balancer& operator=(const Balancer&) = delete;

  int port() const { return port_; }
  // The name HAProxy gives replica `index` in its logs and stats ("replica0", ...).
  static std::string server_name(std::size_t index);
  // Replica `index`'s check status from HAProxy's stats page: "UP", "DOWN", "UP 1/2", ...
  std::string status(std::size_t index) const;
  // Polls status() until it is exactly `status`; throws with HAProxy's log after `timeout`.
  void wait_status(std::size_t index, const std::string& status, std::chrono::milliseconds timeout) const;

  struct LogRecord {
    std::string request_id;   // the client's X-Request-Id ("-" when it sent none)
    std::string server;       // the replica that answered, or "<NOSRV>"
    int status = 0;           // the status HAProxy sent the client
    std::string termination;  // HAProxy's two-letter termination state ("--" for a normal end)
  };
  std::vector<LogRecord> log() const;
  std::string raw_log() const;

 private:
  std::filesystem::path config_, log_path_;
  int port_ = 0, stats_port_ = 0;
  pid_t pid_ = -1;
};

// `replicas` processes of `facematch serve --gallery <PostgreSQL DSN> <serve_args>` and the balancer.
// The drain delay outlasts the balancer's two failed checks 250 ms apart: a replica given SIGTERM is
// taken out before it closes its socket.
class ReplicaCluster {
 public:
  explicit ReplicaCluster(std::size_t replicas = 3,
                          std::vector<std::string> serve_args = {"--workers", "1", "--drain-delay", "1"});
  ~ReplicaCluster();

  PostgresServer& postgres() { return *postgres_; }
  Balancer& balancer() { return *balancer_; }
  std::size_t size() const { return replicas_.size(); }
  int replica_port(std::size_t i) const { return ports_.at(i); }
  ServerProcess& replica(std::size_t i) { return *replicas_.at(i); }
  std::unique_ptr<httplib::Client> replica_client(std::size_t i) const;
  std::unique_ptr<httplib::Client> balancer_client() const;

  // SIGKILL; returns once the process is gone.
  void kill(std::size_t i);
  // SIGTERM (the drain); returns the exit status.
  int terminate(std::size_t i);
  // Starts replica `i` again on its port and waits for its /readyz.
  void restart(std::size_t i);

 private:
  std::unique_ptr<ServerProcess> start_replica(int port) const;

  std::filesystem::path folder_;
  std::unique_ptr<PostgresServer> postgres_;
  std::vector<std::string> serve_args_;
  std::vector<std::unique_ptr<ServerProcess>> replicas_;
  std::vector<int> ports_;
  std::unique_ptr<Balancer> balancer_;
};

// One kind of request the load sends, with the answer it must get.
struct Probe {
  std::string name;  // "verify same person", "identify obama", ...
  std::string path;
  std::string body;  // JSON
  std::function<bool(const nlohmann::json&)> correct;
};

// Photos of /work/shared/faces, read once: the subjects the gallery is seeded with (one photo each,
// enrolled through the balancer), the probes sent under load (1:1 of two photos, the same and different
// people; 1:N of other photos of seeded subjects) and the photo enrolled under load.
struct Workload {
  struct Subject {
    std::string name, photo_file, photo_base64;
  };
  std::vector<Subject> subjects;
  std::vector<Probe> probes;
  std::string enrol_photo_base64;  // a person neither seeded nor probed, enrolled as load-N
  // How gallery answers are told from the rest: their 503 means "the database is down", not "retry".
  static bool gallery_route(const std::string& path);
};
Workload standard_workload();

// Seeding: every subject is enrolled through the balancer; as soon as its enrolment is acknowledged,
// every replica is asked directly (all at once) to identify the enrolled photo, again until an answer
// lists the new face; found means an identify sent within `deadline` of the acknowledgement listed it.
struct Propagation {
  std::size_t enrolments = 0, checks = 0, found_within_deadline = 0;
  // Of the identifies that found the face: the latest sent, and the slowest answered, after the ack
  // (the answer's time is mostly the inference).
  std::chrono::milliseconds latest_send{0}, slowest_answer{0};
  std::vector<std::string> misses;  // "subject on replicaN: what it answered"
};
Propagation seed_and_check_propagation(ReplicaCluster& cluster, const Workload& workload,
                                       std::chrono::milliseconds deadline = std::chrono::seconds(1));

// One attempt of one request as the load client saw it.
struct Attempt {
  std::string request_id;  // X-Request-Id: "p<probe>-c<client>-<n>" and "-retry" for the second attempt
  std::string route;       // probe name, or "enrol"
  bool gallery = false;    // a gallery route (503 there is the database's state)
  bool retry = false;      // the second attempt of an idempotent request
  Clock::time_point sent, done;
  int status = 0;                    // 0: no HTTP answer
  std::string failure;               // empty when answered correctly; otherwise the cause
  std::string detail;                // for a failure: the client's error or the start of the answer
  std::optional<long long> face_id;  // enrolments: the acknowledged face
  std::string subject;               // enrolments: the subject
};

// Causes of failure, as the client tells them apart.
namespace cause {
// A replica died with the request in flight. HAProxy answers 502 when the request was the first of its
// client connection, and otherwise closes the connection silently (unlogged), as a server closing a
// kept-alive connection would, expecting the client to retry: that is `no_answer`.
inline const std::string mid_request = "502: the replica died mid-request";
inline const std::string no_server = "503: no replica available";
inline const std::string draining = "503: replica warming up or draining";
inline const std::string gallery_down = "503: gallery database unavailable";
inline const std::string overloaded = "429: overloaded";
inline const std::string no_answer = "connection closed without an answer";
inline const std::string wrong = "wrong answer";
}  // namespace cause

struct LoadOptions {
  int clients = 3;                             // connections sending /verify and /identify
  std::chrono::milliseconds enrol_every{200};  // one more connection enrolling; 0: none
};

// Closed-loop clients through the balancer, each cycling through the probes; idempotent requests
// (/verify, /identify) that fail for a reason another replica would not have are retried once.
// Enrolments are never retried (one may have been stored before the failure).
class Load {
 public:
  Load(int balancer_port, const Workload& workload, LoadOptions options = {});
  ~Load();
  // Stops the clients (each finishes its request) and returns every attempt.
  std::vector<Attempt> stop();
  // Attempts so far (a copy).
  std::vector<Attempt> attempts() const;

 private:
  void run_client(int client);
  void run_enroller();
  void record(Attempt attempt);

  int port_;
  const Workload& workload_;
  LoadOptions options_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::vector<Attempt> attempts_;
  std::vector<std::thread> threads_;
};

// The figures of one fault: requests (an idempotent request and its retry count once), how they ended.
struct FaultReport {
  std::string fault;
  std::size_t sent = 0, answered = 0, retried_ok = 0;
  std::map<std::string, std::size_t> failed_first;  // cause -> first attempts that failed
  std::map<std::string, std::size_t> failed;        // cause -> requests that failed in the end
  std::size_t enrolments_sent = 0, enrolments_acked = 0, enrolments_lost = 0;
  std::vector<Attempt> attempts;
  std::vector<std::string> notes;  // what the scenario saw on the way ("replica1 ... DOWN after 612 ms")
  double seconds = 0;              // first request sent to last answer
  // The fault's window: from the kill, the first SIGTERM or the database's stop to full recovery.
  Clock::time_point fault_began, fault_ended;
  Clock::time_point taken_out;                // replica SIGKILL: when HAProxy marked the replica DOWN
  std::vector<std::string> stopped_replicas;  // the balancer's names of the replicas the fault stopped
  std::vector<int> exit_statuses;             // rolling restart: each replica's exit status after SIGTERM
  bool all_up_during_fault = true;            // PostgreSQL restart: HAProxy kept every replica UP
  bool recovered = true;                      // every replica answered the probes correctly afterwards
};
FaultReport summarise(std::string fault, std::vector<Attempt> attempts);

// Acknowledged enrolments that some replica, asked directly, does not list (GET /subjects/{subject}).
std::size_t lost_enrolments(ReplicaCluster& cluster, const std::vector<Attempt>& attempts,
                            std::vector<std::string>* where = nullptr);

// Every replica, asked directly, answers each identify probe correctly.
std::vector<std::string> wrong_answers_from(ReplicaCluster& cluster, std::size_t replica,
                                            const Workload& workload);

struct FaultTimings {
  std::chrono::milliseconds before{1500};  // load before the fault
  std::chrono::milliseconds during{1500};  // load while the fault lasts (a replica or the database down)
  std::chrono::milliseconds after{1500};   // load after recovery
};

// Replica `victim` gets SIGKILL under load; once HAProxy marks it DOWN it is started again and must come
// back UP and answer correctly.
FaultReport kill_replica(ReplicaCluster& cluster, const Workload& workload, std::size_t victim,
                         const FaultTimings& timings, const LoadOptions& options = {});
// SIGTERM to each replica in turn, restarted once it exits, waiting for /readyz and HAProxy's UP.
FaultReport rolling_restart(ReplicaCluster& cluster, const Workload& workload, const FaultTimings& timings,
                            const LoadOptions& options = {});
// PostgreSQL stopped (fast shutdown) under load and started again; facematch is not restarted.
FaultReport restart_postgres(ReplicaCluster& cluster, const Workload& workload, const FaultTimings& timings,
                             const LoadOptions& options = {});
// No fault: the reference the others are compared with.
FaultReport steady(ReplicaCluster& cluster, const Workload& workload, std::chrono::milliseconds duration,
                   const LoadOptions& options = {});

// A Markdown table: fault, requests sent, answered, failed (cause: count), retried, enrolments, lost.
std::string fault_table(const std::vector<FaultReport>& reports);

}  // namespace facematch::testing
