// Bounded admission in front of inference. httplib's own task queue is unbounded and cannot refuse
// work, so every inference request first takes one of `workers + queue` places here: when none is
// left the caller answers 429 at once instead of waiting. An admitted request then waits (FIFO-ish,
// on a condition variable) until one of `workers` run slots is free.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>

namespace facematch::server {

class Admission {
 public:
  Admission(std::size_t workers, std::size_t queue);

  class Ticket {
   public:
    explicit Ticket(Admission& owner) : owner_(&owner) {}
    Ticket(Ticket&& other) noexcept : owner_(other.owner_), running_(other.running_) {
      other.owner_ = nullptr;
    }
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    Ticket& operator=(Ticket&&) = delete;
    ~Ticket();
    // Blocks until a worker slot is free; the slot is held until the ticket is destroyed.
    void wait_for_worker();

   private:
    Admission* owner_;
    bool running_ = false;
  };

  // A ticket, or nothing when workers + queue requests are already admitted.
  std::optional<Ticket> try_admit();

  std::size_t in_flight() const;
  std::size_t running() const;
  std::size_t workers() const { return workers_; }
  std::size_t queue_capacity() const { return queue_; }

 private:
  const std::size_t workers_, queue_;
  mutable std::mutex mutex_;
  std::condition_variable worker_free_;
  std::size_t admitted_ = 0, running_ = 0;
};

}  // namespace facematch::server
