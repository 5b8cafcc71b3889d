// Issue 16: three `facematch serve` replicas sharing a real PostgreSQL gallery behind HAProxy, all on
// loopback ports, under a steady load of /verify and /identify (and enrolments) through the balancer:
// enrolments reach every replica, a replica killed costs only the requests in flight on it, a rolling
// restart loses nothing, and PostgreSQL restarted costs only gallery answers while it is down.
#include <gtest/gtest.h>

#include <iostream>

#include "replica_cluster.hpp"

namespace {

using namespace facematch::testing;

std::string notes_of(const FaultReport& r) {
  std::string s = fault_table({r});
  for (const auto& n : r.notes) s += "  " + n + "\n";
  for (const auto& a : r.attempts)
    if (!a.failure.empty())
      s += "  " + a.request_id + " (" + a.route + "): " + a.detail.substr(0, 200) + "\n";
  return s;
}

struct Seeded {
  ReplicaCluster cluster;
  Workload workload = standard_workload();
  Propagation propagation;
  Seeded() : propagation(seed_and_check_propagation(cluster, workload)) {}
};

// Request ids that HAProxy logged, with the replica that served each.
std::map<std::string, Balancer::LogRecord> balancer_log_by_id(const Balancer& balancer) {
  std::map<std::string, Balancer::LogRecord> by_id;
  for (const auto& record : balancer.log()) by_id[record.request_id] = record;
  return by_id;
}

TEST(Replicas, EveryReplicaFindsEveryAcknowledgedEnrolmentWithinASecond) {
  Seeded s;
  const auto& p = s.propagation;
  EXPECT_EQ(p.enrolments, s.workload.subjects.size());
  EXPECT_EQ(p.checks, p.enrolments * s.cluster.size());
  EXPECT_EQ(p.found_within_deadline, p.checks) << [&] {
    std::string m;
    for (const auto& miss : p.misses) m += miss + "\n";
    return m;
  }();
  EXPECT_LE(p.latest_send.count(), 1000);
  std::cout << "propagation: " << p.found_within_deadline << "/" << p.checks
            << " found by the first identify; latest sent " << p.latest_send.count()
            << " ms, slowest answered " << p.slowest_answer.count() << " ms after the acknowledgement\n";
  // And the load's probes are answered right by each replica directly (the seeded subjects are found).
  for (std::size_t i = 0; i < s.cluster.size(); ++i)
    EXPECT_TRUE(wrong_answers_from(s.cluster, i, s.workload).empty()) << Balancer::server_name(i);
}

TEST(Replicas, ReplicaKilledUnderLoadCostsOnlyItsInFlightRequests) {
  Seeded s;
  const LoadOptions options;
  const std::size_t victim = 1;
  const auto r = kill_replica(s.cluster, s.workload, victim, {}, options);
  SCOPED_TRACE(notes_of(r));
  std::cout << notes_of(r);
  ASSERT_GT(r.sent, 50u) << "the load was not steady";

  // Every attempt that failed was in flight on the killed replica: it was sent before HAProxy took the
  // replica out and ended after the kill, it failed the way a request cut off mid-way does, and if
  // HAProxy logged it (a 502), it logged the killed replica as its server.
  const auto log = balancer_log_by_id(s.cluster.balancer());
  std::size_t failed_attempts = 0;
  for (const auto& a : r.attempts) {
    if (a.failure.empty()) continue;
    ++failed_attempts;
    EXPECT_TRUE(a.failure == cause::mid_request || a.failure == cause::no_answer) << a.request_id;
    EXPECT_GE(a.done, r.fault_began) << a.request_id << " failed before the kill";
    EXPECT_LE(a.sent, r.taken_out) << a.request_id << " was sent after HAProxy took the replica out";
    if (const auto it = log.find(a.request_id); it != log.end()) {
      EXPECT_EQ(it->second.server, Balancer::server_name(victim)) << a.request_id;
    }
  }
  // At most one request per connection can be in flight at the kill, and one retry of each (the kill
  // takes a moment: a retry can reach the dying process's listening socket).
  EXPECT_LE(failed_attempts, 2 * static_cast<std::size_t>(options.clients) + 1);
  std::size_t failed_in_the_end = 0;
  for (const auto& [failure, count] : r.failed) failed_in_the_end += count;
  EXPECT_EQ(r.sent, r.answered + failed_in_the_end);

  // The restarted replica rejoined: the balancer sent it requests after it came back, and it answered
  // them; asked directly it answers every probe right.
  std::size_t served_after_rejoining = 0;
  for (const auto& a : r.attempts) {
    if (a.sent < r.fault_ended) continue;
    const auto it = log.find(a.request_id);
    if (it != log.end() && it->second.server == Balancer::server_name(victim) && it->second.status / 100 == 2)
      ++served_after_rejoining;
  }
  EXPECT_GT(served_after_rejoining, 0u);
  EXPECT_TRUE(r.recovered);
  EXPECT_EQ(r.enrolments_lost, 0u);
  EXPECT_GT(r.enrolments_acked, 0u);
}

TEST(Replicas, RollingRestartLosesNoRequestAndNoEnrolment) {
  Seeded s;
  const auto r = rolling_restart(s.cluster, s.workload, {});
  SCOPED_TRACE(notes_of(r));
  std::cout << notes_of(r);
  ASSERT_GT(r.sent, 50u) << "the load was not steady";
  EXPECT_EQ(r.exit_statuses, std::vector<int>(s.cluster.size(), 0)) << "SIGTERM drains and exits 0";
  EXPECT_EQ(r.answered, r.sent);
  EXPECT_TRUE(r.failed.empty());
  EXPECT_TRUE(r.failed_first.empty()) << "a drained replica takes no request it does not answer";
  EXPECT_TRUE(r.recovered);
  EXPECT_EQ(r.enrolments_lost, 0u);
  EXPECT_GT(r.enrolments_acked, 0u);
}

TEST(Replicas, PostgresRestartCostsOnlyGalleryAnswersWhileItIsDown) {
  Seeded s;
  const auto r = restart_postgres(s.cluster, s.workload, {});
  SCOPED_TRACE(notes_of(r));
  std::cout << notes_of(r);
  ASSERT_GT(r.sent, 50u) << "the load was not steady";
  EXPECT_TRUE(r.all_up_during_fault) << "/readyz does not depend on the gallery";
  EXPECT_TRUE(r.recovered) << "facematch reconnected without a restart";
  std::size_t verify = 0, gallery_down = 0;
  for (const auto& a : r.attempts) {
    if (!a.gallery) {
      ++verify;
      EXPECT_EQ(a.failure, "") << a.request_id << ": /verify of two photos needs no database";
      continue;
    }
    if (a.failure.empty()) continue;
    EXPECT_EQ(a.failure, cause::gallery_down) << a.request_id;
    ++gallery_down;
    // Only while the database was down (an answer may come just after the stop was asked for).
    EXPECT_GE(a.done, r.fault_began) << a.request_id;
    EXPECT_LE(a.sent, r.fault_ended) << a.request_id;
  }
  EXPECT_GT(verify, 20u);
  EXPECT_GT(gallery_down, 0u) << "the outage was not seen";
  EXPECT_EQ(r.enrolments_lost, 0u);
  EXPECT_GT(r.enrolments_acked, 0u);
}

}  // namespace
