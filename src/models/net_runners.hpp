// One thread's NetRunners of one net, one per batch size and oneDNN thread count, compiled on first use
// through the shared Models cache. oneDNN fixes a primitive's thread count when it is created and starts
// that many threads whatever the caller sets later, so a runner compiled under one budget and run under
// another oversubscribes the cores (a one-core worker starting a team of all of them) and makes OpenMP
// fall back to sleeping between layers; picking the runner by the count in effect avoids both.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "engine/executor.hpp"
#include "engine/net.hpp"
#include "facematch/models.hpp"

namespace facematch::models {

class NetRunners {
 public:
  // `key` names the net in the Models cache (a model name, plus "@size" where the input size varies);
  // `describe` builds it from the loaded weights.
  using Describe = std::function<engine::NetDescription(const Models&)>;
  NetRunners(std::shared_ptr<const Models> models, std::string key, Describe describe)
      : models_(std::move(models)), key_(std::move(key)), describe_(std::move(describe)) {}

  // The runner for `batch` inputs at the calling thread's current thread count.
  engine::NetRunner& operator()(int batch) {
    const std::pair key{batch, engine::threads_for_this_thread()};
    auto it = runners_.find(key);
    if (it == runners_.end())
      it = runners_.try_emplace(key, models_->compiled(key_, batch, [this] { return describe_(*models_); }))
               .first;
    return it->second;
  }

 private:
  std::shared_ptr<const Models> models_;
  std::string key_;
  Describe describe_;
  std::map<std::pair<int, int>, engine::NetRunner> runners_;
};

}  // namespace facematch::models
