// The load figures of the multi-replica deployment (issue 16): three `facematch serve` replicas on one
// real PostgreSQL 15 gallery behind HAProxy, all on loopback ports, under closed-loop /verify and
// /identify clients and an enrolling client, through four phases on one cluster: steady load (the
// reference), a replica killed with SIGKILL and restarted, a rolling restart (SIGTERM each replica in
// turn), PostgreSQL restarted. Prints the fault table of docs/deployment.md, what each phase saw, and
// per phase the throughput and median latency against the steady phase of the same run. Never fails on
// timing; exits 1 only when an acknowledged enrolment was lost or a phase could not run.
//
//   facematch_replica_faults [--seconds 5] [--clients 3] [--enrol-every-ms 200] [--workers 1]
//
// --seconds is each stretch of load: before the fault, while it lasts, after recovery (steady: 3x).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <map>

#include "median.hpp"
#include "replica_cluster.hpp"

namespace ft = facematch::testing;

namespace {

struct RouteFigures {
  double per_second = 0, median_ms = 0;
  std::size_t answered = 0;
};

// Answered first attempts and retries, per route, over the phase's span.
std::map<std::string, RouteFigures> figures(const ft::FaultReport& r) {
  std::map<std::string, std::vector<double>> times;
  for (const auto& a : r.attempts)
    if (a.failure.empty())
      times[a.route].push_back(std::chrono::duration<double, std::milli>(a.done - a.sent).count());
  std::map<std::string, RouteFigures> out;
  for (auto& [route, t] : times) {
    auto& f = out[route];
    f.answered = t.size();
    f.per_second = r.seconds > 0 ? static_cast<double>(t.size()) / r.seconds : 0;
    f.median_ms = facematch::bench::median(std::move(t));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Fault figures of three replicas behind HAProxy on one PostgreSQL gallery");
  int seconds = 5, clients = 3, enrol_every_ms = 200, workers = 1;
  app.add_option("--seconds", seconds, "Seconds of load before, during and after each fault")
      ->check(CLI::Range(1, 600));
  app.add_option("--clients", clients, "Concurrent /verify and /identify connections")
      ->check(CLI::Range(1, 64));
  app.add_option("--enrol-every-ms", enrol_every_ms, "Pause between enrolments (0: none)")
      ->check(CLI::Range(0, 60000));
  app.add_option("--workers", workers, "--workers of each replica")->check(CLI::Range(1, 64));
  CLI11_PARSE(app, argc, argv);

  try {
    const std::chrono::seconds stretch(seconds);
    const ft::FaultTimings timings{stretch, stretch, stretch};
    const ft::LoadOptions load{clients, std::chrono::milliseconds(enrol_every_ms)};
    std::printf(
        "replica faults: %u cores, 3 replicas --workers %d --drain-delay 1, %d clients, an enrolment every "
        "%d ms, "
        "%d s stretches\n",
        std::thread::hardware_concurrency(), workers, clients, enrol_every_ms, seconds);
    ft::ReplicaCluster cluster(3, {"--workers", std::to_string(workers), "--drain-delay", "1"});
    const auto workload = ft::standard_workload();
    const auto propagation = ft::seed_and_check_propagation(cluster, workload);
    std::printf(
        "propagation: %zu/%zu identifies sent at most %lld ms after the acknowledgement found the new face "
        "(slowest answer %lld ms)\n",
        propagation.found_within_deadline, propagation.checks,
        static_cast<long long>(propagation.latest_send.count()),
        static_cast<long long>(propagation.slowest_answer.count()));

    std::vector<ft::FaultReport> reports;
    reports.push_back(ft::steady(cluster, workload, 3 * stretch, load));
    reports.push_back(ft::kill_replica(cluster, workload, 1, timings, load));
    reports.push_back(ft::rolling_restart(cluster, workload, timings, load));
    reports.push_back(ft::restart_postgres(cluster, workload, timings, load));

    std::cout << "\n" << ft::fault_table(reports) << "\n";
    for (const auto& r : reports) {
      std::cout << r.fault << " (" << r.seconds << " s):\n";
      for (const auto& n : r.notes) std::cout << "  " << n << "\n";
    }
    const auto reference = figures(reports.front());
    std::cout << "\n| phase | route | answered/s | vs steady | median ms | vs steady |\n| --- | --- | ---: | "
                 "---: | ---: | ---: |\n";
    for (const auto& r : reports) {
      for (const auto& [route, f] : figures(r)) {
        const auto ref = reference.find(route);
        auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
        std::printf("| %s | %s | %.1f | %.2f | %.0f | %.2f |\n", r.fault.c_str(), route.c_str(), f.per_second,
                    ref == reference.end() ? 0.0 : ratio(f.per_second, ref->second.per_second), f.median_ms,
                    ref == reference.end() ? 0.0 : ratio(f.median_ms, ref->second.median_ms));
      }
    }
    std::size_t lost = 0;
    for (const auto& r : reports) lost += r.enrolments_lost;
    return lost == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "replica faults: %s\n", e.what());
    return 1;
  }
}
