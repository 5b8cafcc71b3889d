#include "server/admission.hpp"

namespace facematch::server {

Admission::Admission(std::size_t workers, std::size_t queue)
    : workers_(workers ? workers : 1), queue_(queue) {}

std::optional<Admission::Ticket> Admission::try_admit() {
  std::lock_guard lock(mutex_);
  if (admitted_ >= workers_ + queue_) return std::nullopt;
  ++admitted_;
  return Ticket(*this);
}

void Admission::Ticket::wait_for_worker() {
  if (!owner_ || running_) return;
  std::unique_lock lock(owner_->mutex_);
  owner_->worker_free_.wait(lock, [&] { return owner_->running_ < owner_->workers_; });
  ++owner_->running_;
  running_ = true;
}

Admission::Ticket::~Ticket() {
  if (!owner_) return;
  std::lock_guard lock(owner_->mutex_);
  --owner_->admitted_;
  if (running_) {
    --owner_->running_;
    owner_->worker_free_.notify_one();
  }
}

std::size_t Admission::in_flight() const {
  std::lock_guard lock(mutex_);
  return admitted_;
}

std::size_t Admission::running() const {
  std::lock_guard lock(mutex_);
  return running_;
}

}  // namespace facematch::server
