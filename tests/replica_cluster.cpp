#include "replica_cluster.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "test_support.hpp"

namespace facematch::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;

const fs::path kHaproxy = "/usr/sbin/haproxy";
constexpr milliseconds kRetryPause{100};
// Model loading and the warm-up inference: seconds in a release build, much longer under ASan on a
// loaded machine.
constexpr std::chrono::seconds kWarmUp{240};

long long ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration_cast<milliseconds>(to - from).count();
}

std::string photo_base64(const std::string& file) { return base64(read_text(shared_face(file))); }

fs::path make_temp_folder(const std::string& prefix) {
  std::string pattern = (fs::temp_directory_path() / (prefix + "XXXXXX")).string();
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
  return pattern;
}

httplib::Result post_json(httplib::Client& c, const std::string& path, const std::string& body,
                          const std::string& request_id = {}) {
  httplib::Headers headers;
  if (!request_id.empty()) headers.emplace("X-Request-Id", request_id);
  return c.Post(path, headers, body, "application/json");
}

std::optional<json> parse(const std::string& text) {
  try {
    return json::parse(text);
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

// What went wrong with an answer, as a client tells it without seeing the servers; empty when correct.
std::string failure_of(const httplib::Result& r, const std::function<bool(const json&)>& correct) {
  if (!r) return cause::no_answer;
  const auto body = parse(r->body);
  const std::string code =
      body && body->contains("error") ? (*body)["error"].value("code", std::string()) : std::string();
  if (r->status == 200 || r->status == 201) return body && correct(*body) ? "" : cause::wrong;
  if (r->status == 502) return cause::mid_request;
  if (r->status == 503) {
    if (code == "unavailable") return cause::gallery_down;
    if (code == "overloaded") return cause::draining;
    return cause::no_server;  // HAProxy's own page: no server was up
  }
  if (r->status == 429) return cause::overloaded;
  return "HTTP " + std::to_string(r->status) + (code.empty() ? "" : " " + code);
}

// Another replica would answer these; a wrong answer or the gallery's database being down would not change.
bool worth_retrying(const std::string& failure) {
  return failure == cause::no_answer || failure == cause::mid_request || failure == cause::no_server ||
         failure == cause::draining || failure == cause::overloaded;
}

std::string logical_id(const std::string& request_id) {
  const std::string suffix = "-retry";
  return request_id.ends_with(suffix) ? request_id.substr(0, request_id.size() - suffix.size()) : request_id;
}

std::string describe(const httplib::Result& r) {
  if (!r) return "no answer (" + httplib::to_string(r.error()) + ")";
  return std::to_string(r->status) + " " + r->body.substr(0, 300);
}

}  // namespace

// ---- Balancer ----

std::string Balancer::server_name(std::size_t index) { return "replica" + std::to_string(index); }

Balancer::Balancer(const std::vector<int>& replica_ports, const fs::path& folder)
    : config_(folder / "haproxy.cfg"), log_path_(folder / "haproxy.log") {
  if (!fs::exists(kHaproxy))
    throw std::runtime_error(kHaproxy.string() + " is missing; install haproxy (./setup.sh does)");
  std::string failures;
  // A port found free can be taken before HAProxy binds it; other ports are tried then.
  for (int attempt = 0; attempt < 3 && pid_ < 0; ++attempt) {
    port_ = free_loopback_port();
    stats_port_ = free_loopback_port();
    std::ofstream cfg(config_);
    cfg << "global\n"
           "  log stderr format raw local0\n"
           "  nbthread 1\n"
           "  maxconn 1000\n"
           "defaults\n"
           "  mode http\n"
           "  log global\n"
           "  timeout connect 1s\n"
           "  timeout client 30s\n"
           "  timeout server 30s\n"
           "  timeout http-keep-alive 5s\n"
           // A refused connection (a replica killed or draining, not yet marked down) is tried again, on
           // another server each time; a request already sent is not (its body is not kept).
           "  retries 3\n"
           "  option redispatch 1\n"
           "frontend facematch\n"
           "  bind 127.0.0.1:"
        << port_
        << "\n"
           "  capture request header X-Request-Id len 64\n"
           "  log-format \"rid=%[capture.req.hdr(0)] srv=%s status=%ST term=%tsc\"\n"
           "  default_backend replicas\n"
           "backend replicas\n"
           "  balance roundrobin\n"
           "  option httpchk GET /readyz\n"
           "  http-check expect status 200\n"
           // A replica busy with inference still answers /readyz at once, but the machine may be loaded.
           "  timeout check 2s\n"
           "  default-server check inter 250ms fall 2 rise 2\n";
    for (std::size_t i = 0; i < replica_ports.size(); ++i)
      cfg << "  server " << server_name(i) << " 127.0.0.1:" << replica_ports[i] << "\n";
    cfg << "listen stats\n"
           "  bind 127.0.0.1:"
        << stats_port_
        << "\n"
           "  no log\n"
           "  stats enable\n"
           "  stats uri /stats\n";
    cfg.close();
    pid_ = spawn_child({kHaproxy.string(), "-db", "-f", config_.string()}, {}, -1, log_path_);
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    bool up = false;
    while (Clock::now() < deadline && !up) {
      int wstatus = 0;
      if (::waitpid(pid_, &wstatus, WNOHANG) == pid_) break;
      httplib::Client c("127.0.0.1", stats_port_);
      c.set_connection_timeout(std::chrono::seconds(1));
      up = static_cast<bool>(c.Get("/stats;csv"));
      if (!up) std::this_thread::sleep_for(milliseconds(50));
    }
    if (!up) {
      failures += "attempt " + std::to_string(attempt + 1) + ": " + raw_log() + "\n";
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  if (pid_ < 0) throw std::runtime_error("haproxy did not start:\n" + failures);
  for (std::size_t i = 0; i < replica_ports.size(); ++i) wait_status(i, "UP", std::chrono::seconds(10));
}

Balancer::~Balancer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

std::string Balancer::status(std::size_t index) const {
  httplib::Client c("127.0.0.1", stats_port_);
  c.set_connection_timeout(std::chrono::seconds(2));
  c.set_url_encode(false);  // ";csv" asks for the CSV form; encoded, it is the HTML page
  const auto r = c.Get("/stats;csv");
  if (!r || r->status != 200) throw std::runtime_error("haproxy stats page: " + describe(r));
  std::istringstream lines(r->body);
  std::string line;
  std::getline(lines, line);  // "# pxname,svname,...,status,..."
  auto split = [](const std::string& text) {
    std::vector<std::string> fields;
    std::stringstream s(text);
    for (std::string f; std::getline(s, f, ',');) fields.push_back(f);
    return fields;
  };
  const auto header = split(line.substr(line.rfind('#') == 0 ? 2 : 0));
  const auto column = std::find(header.begin(), header.end(), "status") - header.begin();
  while (std::getline(lines, line)) {
    const auto fields = split(line);
    if (fields.size() > static_cast<std::size_t>(column) && fields[0] == "replicas" &&
        fields[1] == server_name(index))
      return fields[static_cast<std::size_t>(column)];
  }
  throw std::runtime_error("haproxy stats list no " + server_name(index) + ": " + r->body.substr(0, 500));
}

void Balancer::wait_status(std::size_t index, const std::string& wanted, milliseconds timeout) const {
  const auto deadline = Clock::now() + timeout;
  std::string last;
  while (Clock::now() < deadline) {
    last = status(index);
    if (last == wanted) return;
    std::this_thread::sleep_for(milliseconds(20));
  }
  throw std::runtime_error("haproxy: " + server_name(index) + " still '" + last + "', not '" + wanted +
                           "', after " + std::to_string(timeout.count()) + " ms; log:\n" + raw_log());
}

std::vector<Balancer::LogRecord> Balancer::log() const {
  std::vector<LogRecord> records;
  std::istringstream lines(read_text(log_path_));
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("rid=")) continue;  // HAProxy's own notices
    LogRecord record;
    std::istringstream words(line);
    for (std::string word; words >> word;) {
      const auto eq = word.find('=');
      if (eq == std::string::npos) continue;
      const auto key = word.substr(0, eq), value = word.substr(eq + 1);
      if (key == "rid") record.request_id = value.empty() ? "-" : value;
      if (key == "srv") record.server = value;
      if (key == "status") record.status = std::atoi(value.c_str());
      if (key == "term") record.termination = value;
    }
    records.push_back(record);
  }
  return records;
}

std::string Balancer::raw_log() const { return read_text(log_path_); }

// ---- ReplicaCluster ----

ReplicaCluster::ReplicaCluster(std::size_t replicas, std::vector<std::string> serve_args)
    : folder_(make_temp_folder("facematch_replicas_")),
      postgres_(std::make_unique<PostgresServer>()),
      serve_args_(std::move(serve_args)) {
  // All start together (model loading overlaps); each is then waited for.
  for (std::size_t i = 0; i < replicas; ++i) {
    replicas_.push_back(start_replica(0));
    ports_.push_back(replicas_.back()->port());
  }
  for (auto& r : replicas_) r->wait_ready(kWarmUp);
  balancer_ = std::make_unique<Balancer>(ports_, folder_);
}

ReplicaCluster::~ReplicaCluster() {
  balancer_.reset();
  replicas_.clear();
  postgres_.reset();
  std::error_code ignored;
  fs::remove_all(folder_, ignored);
}

std::unique_ptr<ServerProcess> ReplicaCluster::start_replica(int port) const {
  std::vector<std::string> args = {"--port", std::to_string(port), "--gallery", postgres_->dsn()};
  args.insert(args.end(), serve_args_.begin(), serve_args_.end());
  return std::make_unique<ServerProcess>(args);
}

std::unique_ptr<httplib::Client> ReplicaCluster::replica_client(std::size_t i) const {
  return replicas_.at(i)->client(std::chrono::seconds(30));
}

std::unique_ptr<httplib::Client> ReplicaCluster::balancer_client() const {
  auto c = std::make_unique<httplib::Client>("127.0.0.1", balancer_->port());
  c->set_read_timeout(std::chrono::seconds(30));
  c->set_connection_timeout(std::chrono::seconds(5));
  return c;
}

void ReplicaCluster::kill(std::size_t i) { replicas_.at(i)->stop(SIGKILL); }

int ReplicaCluster::terminate(std::size_t i) { return replicas_.at(i)->stop(SIGTERM); }

void ReplicaCluster::restart(std::size_t i) {
  // The old process is gone (kill/terminate waited for it); its port is free again.
  replicas_.at(i) = start_replica(ports_.at(i));
  replicas_.at(i)->wait_ready(kWarmUp);
}

// ---- Workload ----

bool Workload::gallery_route(const std::string& path) {
  return path == "/identify" || path.starts_with("/subjects");
}

Workload standard_workload() {
  Workload w;
  // Small photos (decoding is part of every request); one seeded photo per person, probed with another.
  for (const auto& [name, file] : {std::pair{"obama", "obama_1.jpg"},
                                   {"kit", "kit_harington_1.jpg"},
                                   {"hugh", "hugh_laurie_1.jpg"},
                                   {"alex", "alex_lacamoire_1.jpg"}})
    w.subjects.push_back({name, file, photo_base64(file)});
  auto verify = [](const std::string& a, const std::string& b, bool same) {
    return Probe{std::string("verify ") + (same ? "same person" : "different people"), "/verify",
                 json{{"img1", photo_base64(a)}, {"img2", photo_base64(b)}}.dump(),
                 [same](const json& j) { return j.value("verified", !same) == same; }};
  };
  auto identify = [](const std::string& file, const std::string& subject) {
    return Probe{"identify " + subject, "/identify", json{{"img", photo_base64(file)}}.dump(),
                 [subject](const json& j) { return j.contains("identified") && j["identified"] == subject; }};
  };
  w.probes = {verify("obama_3.jpg", "obama_240p.jpg", true), identify("kit_harington_2.jpg", "kit"),
              verify("hugh_laurie_1.jpg", "kit_harington_2.jpg", false), identify("obama_3.jpg", "obama")};
  w.enrol_photo_base64 = photo_base64("rose_leslie_1.jpg");
  return w;
}

// ---- Propagation ----

Propagation seed_and_check_propagation(ReplicaCluster& cluster, const Workload& workload,
                                       milliseconds deadline) {
  Propagation p;
  auto balancer = cluster.balancer_client();
  for (const auto& subject : workload.subjects) {
    const auto r = post_json(*balancer, "/subjects/" + subject.name + "/faces",
                             json{{"img", subject.photo_base64}}.dump());
    if (!r || r->status != 201) throw std::runtime_error("enrolling " + subject.name + ": " + describe(r));
    const auto acked = Clock::now();
    const auto face_id = json::parse(r->body).at("face_id").get<long long>();
    ++p.enrolments;
    const std::string probe = json{{"img", subject.photo_base64}, {"top_k", 3}}.dump();
    // Every replica is asked at once: what is measured is when each knew of the face, not how long
    // three inferences take one after the other.
    struct Check {
      bool found = false;
      milliseconds sent_after_ack{0}, answered_after_ack{0};
      std::string last;
    };
    std::vector<Check> checks(cluster.size());
    std::vector<std::thread> askers;
    for (std::size_t i = 0; i < cluster.size(); ++i) {
      askers.emplace_back([&, i] {
        auto direct = cluster.replica_client(i);
        auto& check = checks[i];
        for (;;) {
          const auto sent = Clock::now();
          const auto answer = post_json(*direct, "/identify", probe);
          if (answer && answer->status == 200) {
            const auto answered = json::parse(answer->body);  // outlives the loop (a temporary would not)
            for (const auto& c : answered.at("candidates"))
              check.found = check.found || c.at("face_id").get<long long>() == face_id;
          }
          check.last = describe(answer);
          check.sent_after_ack = std::chrono::duration_cast<milliseconds>(sent - acked);
          check.answered_after_ack = std::chrono::duration_cast<milliseconds>(Clock::now() - acked);
          if (check.found || sent - acked > deadline) return;
        }
      });
    }
    for (auto& t : askers) t.join();
    for (std::size_t i = 0; i < checks.size(); ++i) {
      ++p.checks;
      const auto& check = checks[i];
      if (check.found && check.sent_after_ack <= deadline) {
        ++p.found_within_deadline;
        p.latest_send = std::max(p.latest_send, check.sent_after_ack);
        p.slowest_answer = std::max(p.slowest_answer, check.answered_after_ack);
      } else {
        p.misses.push_back(subject.name + " face " + std::to_string(face_id) + " on " +
                           Balancer::server_name(i) + " (asked " +
                           std::to_string(check.sent_after_ack.count()) +
                           " ms after the acknowledgement): " + check.last);
      }
    }
  }
  return p;
}

// ---- Load ----

Load::Load(int balancer_port, const Workload& workload, LoadOptions options)
    : port_(balancer_port), workload_(workload), options_(options) {
  for (int c = 0; c < options_.clients; ++c) threads_.emplace_back([this, c] { run_client(c); });
  if (options_.enrol_every.count() > 0) threads_.emplace_back([this] { run_enroller(); });
}

Load::~Load() { stop(); }

std::vector<Attempt> Load::stop() {
  stopping_ = true;
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  return attempts();
}

std::vector<Attempt> Load::attempts() const {
  std::lock_guard lock(mutex_);
  return attempts_;
}

void Load::record(Attempt attempt) {
  std::lock_guard lock(mutex_);
  attempts_.push_back(std::move(attempt));
}

void Load::run_client(int client) {
  httplib::Client c("127.0.0.1", port_);
  c.set_keep_alive(true);
  c.set_read_timeout(std::chrono::seconds(30));
  c.set_connection_timeout(std::chrono::seconds(5));
  for (std::size_t n = 0; !stopping_; ++n) {
    const auto probe_index = (n + static_cast<std::size_t>(client)) % workload_.probes.size();
    const auto& probe = workload_.probes[probe_index];
    // Appended piecewise: GCC 12's -Wrestrict misfires on "literal" + std::string here.
    std::string id = "p";
    id.append(std::to_string(probe_index)).append("-c").append(std::to_string(client));
    id.append("-").append(std::to_string(n));
    for (bool retry : {false, true}) {
      Attempt a;
      a.request_id = id;
      if (retry) a.request_id.append("-retry");
      a.route = probe.name;
      a.gallery = Workload::gallery_route(probe.path);
      a.retry = retry;
      a.sent = Clock::now();
      const auto r = post_json(c, probe.path, probe.body, a.request_id);
      a.done = Clock::now();
      a.status = r ? r->status : 0;
      a.failure = failure_of(r, probe.correct);
      if (!a.failure.empty()) a.detail = describe(r);
      const bool again = !retry && worth_retrying(a.failure);
      record(std::move(a));
      if (!again) break;
      // As clients should: a moment for the balancer's health check (and a dying process) to catch up.
      std::this_thread::sleep_for(kRetryPause);
    }
  }
}

void Load::run_enroller() {
  // Subjects are unique across every Load of the process, so that each enrolment can be looked up alone.
  static std::atomic<int> next_subject{0};
  httplib::Client c("127.0.0.1", port_);
  c.set_keep_alive(true);
  c.set_read_timeout(std::chrono::seconds(30));
  c.set_connection_timeout(std::chrono::seconds(5));
  const std::string body = json{{"img", workload_.enrol_photo_base64}}.dump();
  while (!stopping_) {
    Attempt a;
    a.subject = "load-" + std::to_string(next_subject++);
    a.request_id = "enrol-" + a.subject;
    a.route = "enrol";
    a.gallery = true;
    a.sent = Clock::now();
    const auto r = post_json(c, "/subjects/" + a.subject + "/faces", body, a.request_id);
    a.done = Clock::now();
    a.status = r ? r->status : 0;
    a.failure = failure_of(r, [&](const json& j) {
      return j.value("subject", std::string()) == a.subject && j.value("face_id", 0LL) > 0;
    });
    if (a.failure.empty())
      a.face_id = json::parse(r->body)["face_id"].get<long long>();
    else
      a.detail = describe(r);
    record(std::move(a));
    std::this_thread::sleep_for(options_.enrol_every);
  }
}

// ---- Reports ----

FaultReport summarise(std::string fault, std::vector<Attempt> attempts) {
  FaultReport report;
  report.fault = std::move(fault);
  std::map<std::string, std::pair<const Attempt*, const Attempt*>> requests;  // first, retry
  for (const auto& a : attempts) {
    auto& slot = requests[logical_id(a.request_id)];
    (a.retry ? slot.second : slot.first) = &a;
  }
  for (const auto& [id, pair] : requests) {
    const auto* first = pair.first;
    const auto* last = pair.second ? pair.second : pair.first;
    if (!first) continue;
    if (first->route == "enrol") {
      ++report.enrolments_sent;
      if (first->face_id) ++report.enrolments_acked;
    }
    ++report.sent;
    if (!first->failure.empty()) ++report.failed_first[first->failure];
    if (last->failure.empty()) {
      ++report.answered;
      if (last != first) ++report.retried_ok;
    } else {
      ++report.failed[last->failure];
    }
  }
  if (!attempts.empty()) {
    const auto began = std::min_element(attempts.begin(), attempts.end(), [](auto& a, auto& b) {
                         return a.sent < b.sent;
                       })->sent;
    const auto ended = std::max_element(attempts.begin(), attempts.end(), [](auto& a, auto& b) {
                         return a.done < b.done;
                       })->done;
    report.seconds = static_cast<double>(ms_between(began, ended)) / 1000.0;
  }
  report.attempts = std::move(attempts);
  return report;
}

std::size_t lost_enrolments(ReplicaCluster& cluster, const std::vector<Attempt>& attempts,
                            std::vector<std::string>* where) {
  std::size_t lost = 0;
  for (std::size_t i = 0; i < cluster.size(); ++i) {
    auto direct = cluster.replica_client(i);
    for (const auto& a : attempts) {
      if (!a.face_id) continue;
      const auto r = direct->Get("/subjects/" + a.subject);
      bool listed = false;
      if (r && r->status == 200) {
        const auto shown = json::parse(r->body);  // outlives the loop (a temporary would not)
        for (const auto& f : shown.at("faces"))
          listed = listed || f.at("face_id").get<long long>() == *a.face_id;
      }
      if (!listed) {
        ++lost;
        if (where)
          where->push_back(a.subject + " face " + std::to_string(*a.face_id) + " on " +
                           Balancer::server_name(i) + ": " + describe(r));
      }
    }
  }
  return lost;
}

std::vector<std::string> wrong_answers_from(ReplicaCluster& cluster, std::size_t replica,
                                            const Workload& workload) {
  std::vector<std::string> wrong;
  auto direct = cluster.replica_client(replica);
  for (const auto& probe : workload.probes) {
    const auto r = post_json(*direct, probe.path, probe.body);
    if (const auto failure = failure_of(r, probe.correct); !failure.empty())
      wrong.push_back(probe.name + " on " + Balancer::server_name(replica) + ": " + failure + ": " +
                      describe(r));
  }
  return wrong;
}

namespace {

void finish(FaultReport& report, ReplicaCluster& cluster) {
  std::vector<std::string> where;
  report.enrolments_lost = lost_enrolments(cluster, report.attempts, &where);
  for (const auto& w : where) report.notes.push_back("lost: " + w);
}

std::string since(Clock::time_point from) { return std::to_string(ms_between(from, Clock::now())) + " ms"; }

}  // namespace

FaultReport kill_replica(ReplicaCluster& cluster, const Workload& workload, std::size_t victim,
                         const FaultTimings& timings, const LoadOptions& options) {
  Load load(cluster.balancer().port(), workload, options);
  std::this_thread::sleep_for(timings.before);
  const auto killed = Clock::now();
  cluster.kill(victim);
  cluster.balancer().wait_status(victim, "DOWN", std::chrono::seconds(10));
  const auto taken_out = Clock::now();
  std::vector<std::string> notes = {Balancer::server_name(victim) +
                                    " SIGKILL: HAProxy marked it DOWN after " + since(killed)};
  std::this_thread::sleep_for(timings.during);
  const auto restarted = Clock::now();
  cluster.restart(victim);
  notes.push_back("restarted: /readyz 200 after " + since(restarted));
  cluster.balancer().wait_status(victim, "UP", std::chrono::seconds(10));
  const auto up = Clock::now();
  notes.push_back("HAProxy marked it UP after " + since(restarted));
  std::this_thread::sleep_for(timings.after);
  auto report = summarise("replica SIGKILL", load.stop());
  report.notes.insert(report.notes.begin(), notes.begin(), notes.end());
  report.fault_began = killed;
  report.taken_out = taken_out;
  report.fault_ended = up;
  report.stopped_replicas = {Balancer::server_name(victim)};
  for (const auto& w : wrong_answers_from(cluster, victim, workload)) {
    report.notes.push_back("wrong: " + w);
    report.recovered = false;
  }
  finish(report, cluster);
  return report;
}

FaultReport rolling_restart(ReplicaCluster& cluster, const Workload& workload, const FaultTimings& timings,
                            const LoadOptions& options) {
  Load load(cluster.balancer().port(), workload, options);
  std::this_thread::sleep_for(timings.before);
  std::vector<std::string> notes;
  const auto began = Clock::now();
  std::vector<std::string> stopped;
  std::vector<int> exit_statuses;
  for (std::size_t i = 0; i < cluster.size(); ++i) {
    const auto t = Clock::now();
    const int status = cluster.terminate(i);
    exit_statuses.push_back(status);
    notes.push_back(Balancer::server_name(i) + " SIGTERM: exited " + std::to_string(status) + " after " +
                    since(t));
    cluster.restart(i);
    cluster.balancer().wait_status(i, "UP", std::chrono::seconds(10));
    notes.push_back(Balancer::server_name(i) + " back UP " + since(t) + " after its SIGTERM");
    stopped.push_back(Balancer::server_name(i));
    std::this_thread::sleep_for(timings.during);
  }
  const auto ended = Clock::now();
  std::this_thread::sleep_for(timings.after);
  auto report = summarise("rolling restart (SIGTERM each replica in turn)", load.stop());
  report.notes.insert(report.notes.begin(), notes.begin(), notes.end());
  report.fault_began = began;
  report.fault_ended = ended;
  report.stopped_replicas = stopped;
  report.exit_statuses = exit_statuses;
  for (std::size_t i = 0; i < cluster.size(); ++i) {
    for (const auto& w : wrong_answers_from(cluster, i, workload)) {
      report.notes.push_back("wrong: " + w);
      report.recovered = false;
    }
  }
  finish(report, cluster);
  return report;
}

FaultReport restart_postgres(ReplicaCluster& cluster, const Workload& workload, const FaultTimings& timings,
                             const LoadOptions& options) {
  Load load(cluster.balancer().port(), workload, options);
  std::this_thread::sleep_for(timings.before);
  const auto stopped = Clock::now();
  cluster.postgres().stop();
  std::vector<std::string> notes = {"PostgreSQL stopped (fast shutdown) in " + since(stopped)};
  std::this_thread::sleep_for(timings.during);
  std::vector<std::string> statuses;
  for (std::size_t i = 0; i < cluster.size(); ++i) statuses.push_back(cluster.balancer().status(i));
  notes.push_back("HAProxy while it was down: " + [&] {
    std::string s;
    for (std::size_t i = 0; i < statuses.size(); ++i)
      s += (i ? ", " : "") + Balancer::server_name(i) + " " + statuses[i];
    return s;
  }());
  const auto started = Clock::now();
  cluster.postgres().start();
  notes.push_back("PostgreSQL started again in " + since(started));
  // Recovery: every replica, asked directly, answers the gallery probes correctly again.
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  bool recovered = false;
  Clock::time_point round;
  while (!recovered && Clock::now() < deadline) {
    round = Clock::now();
    recovered = true;
    for (std::size_t i = 0; i < cluster.size() && recovered; ++i)
      recovered = wrong_answers_from(cluster, i, workload).empty();
    if (!recovered) std::this_thread::sleep_for(milliseconds(50));
  }
  const auto back = Clock::now();
  notes.push_back(
      recovered ? "without a restart, every replica answered every probe correctly in a round of checks "
                  "begun " +
                      std::to_string(ms_between(started, round)) + " ms after the start"
                : "a replica still answered wrongly 30 s after the start");
  std::this_thread::sleep_for(timings.after);
  auto report = summarise("PostgreSQL restart", load.stop());
  report.notes.insert(report.notes.begin(), notes.begin(), notes.end());
  report.fault_began = stopped;
  report.fault_ended = back;
  report.recovered = recovered;
  report.all_up_during_fault =
      std::all_of(statuses.begin(), statuses.end(), [](const std::string& s) { return s == "UP"; });
  finish(report, cluster);
  return report;
}

FaultReport steady(ReplicaCluster& cluster, const Workload& workload, milliseconds duration,
                   const LoadOptions& options) {
  Load load(cluster.balancer().port(), workload, options);
  std::this_thread::sleep_for(duration);
  auto report = summarise("none (steady load)", load.stop());
  finish(report, cluster);
  return report;
}

std::string fault_table(const std::vector<FaultReport>& reports) {
  auto causes = [](const std::map<std::string, std::size_t>& by_cause) {
    if (by_cause.empty()) return std::string("0");
    std::string s;
    for (const auto& [c, n] : by_cause) s += (s.empty() ? "" : "; ") + std::to_string(n) + " " + c;
    return s;
  };
  std::ostringstream t;
  t << "| fault | requests sent | answered | failed at the first attempt (cause) | retried and answered | "
       "failed in the end (cause) | enrolments acknowledged / sent | lost enrolments |\n"
       "| --- | ---: | ---: | --- | ---: | --- | ---: | ---: |\n";
  for (const auto& r : reports)
    t << "| " << r.fault << " | " << r.sent << " | " << r.answered << " | " << causes(r.failed_first) << " | "
      << r.retried_ok << " | " << causes(r.failed) << " | " << r.enrolments_acked << " / "
      << r.enrolments_sent << " | " << r.enrolments_lost << " |\n";
  return t.str();
}

}  // namespace facematch::testing
