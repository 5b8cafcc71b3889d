// One thread's NetRunners of one model, one per batch size, compiled on first use through the
// shared Models cache. The landmark and recognition stages batch faces and both need this.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "engine/executor.hpp"
#include "engine/net.hpp"
#include "facematch/models.hpp"
#include "models/weights.hpp"

namespace facematch::models {

class RunnersByBatch {
 public:
  using Describe = engine::NetDescription (*)(const WeightMap&);

  RunnersByBatch(std::shared_ptr<const Models> models, std::string model, Describe describe)
      : models_(std::move(models)), model_(std::move(model)), describe_(describe) {}

  const std::shared_ptr<const Models>& models() const { return models_; }

  engine::NetRunner& operator()(int batch) {
    auto it = runners_.find(batch);
    if (it == runners_.end()) {
      const Models& m = *models_;
      auto net = m.compiled(model_, batch, [&] { return describe_(m.weights(model_)); });
      it = runners_.try_emplace(batch, std::move(net)).first;
    }
    return it->second;
  }

 private:
  std::shared_ptr<const Models> models_;
  std::string model_;
  Describe describe_;
  std::map<int, engine::NetRunner> runners_;
};

}  // namespace facematch::models
