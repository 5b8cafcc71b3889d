#include "models/ssd_mobilenetv1_net.hpp"

#include <array>
#include <string>

#include "facematch/error.hpp"
#include "models/layers.hpp"

namespace facematch::models {
namespace {

using engine::Activation;
using engine::NetDescription;
using engine::ValueId;

// tf.batchNorm's epsilon in face-api's mobileNetV1.ts (float32 0.001).
constexpr float kBatchNormEpsilon = 0.0010000000474974513f;

// Output channels of conv_0 and of MobileNetV1's 13 depthwise-separable blocks.
constexpr std::array<int, 14> kBackboneChannels = {32,  64,  128, 128, 256, 256,  512,
                                                   512, 512, 512, 512, 512, 1024, 1024};

// The blocks whose depthwise conv has stride 2 (getStridesForLayerIdx).
constexpr bool strided_block(int block) { return block == 2 || block == 4 || block == 6 || block == 12; }

constexpr std::array<int, kSsdPredictors> kAnchorsPerCell = {3, 6, 6, 6, 6, 6};

struct Builder {
  const WeightMap& w;
  NetDescription& net;

  // face-api's pointwiseConvLayer: conv (TF SAME) -> + convolution_bn_offset -> clip to [0, 6].
  ValueId pointwise(ValueId in, const std::string& prefix, int kernel, int out_c, int stride) {
    const int in_c = net.shape(in).c;
    auto c = make_conv(net, in, w.get(prefix + "/weights", {kernel, kernel, in_c, out_c}), stride,
                       TfPadding::same);
    c.bias = w.get(prefix + "/convolution_bn_offset", {out_c}).values;
    c.activation = Activation::relu6;
    return net.add(std::move(c));
  }

  // face-api's depthwiseConvLayer: depthwise 3x3 (TF SAME) -> batchNorm -> clip to [0, 6].
  ValueId depthwise(ValueId in, const std::string& prefix, int stride) {
    const int ch = net.shape(in).c;
    auto c =
        make_depthwise(net, in, w.get(prefix + "/depthwise_weights", {3, 3, ch, 1}), stride, TfPadding::same);
    fold_batch_norm(c, w.get(prefix + "/BatchNorm/moving_mean", {ch}).values,
                    w.get(prefix + "/BatchNorm/moving_variance", {ch}).values,
                    w.get(prefix + "/BatchNorm/beta", {ch}).values,
                    w.get(prefix + "/BatchNorm/gamma", {ch}).values, kBatchNormEpsilon);
    c.activation = Activation::relu6;
    return net.add(std::move(c));
  }

  // face-api's convLayer as boxPredictionLayer uses it: 1x1 conv + bias, no activation.
  ValueId predictor(ValueId in, const std::string& prefix, int out_c) {
    const int in_c = net.shape(in).c;
    auto c = make_conv(net, in, w.get(prefix + "/weights", {1, 1, in_c, out_c}), 1, TfPadding::same);
    c.bias = w.get(prefix + "/biases", {out_c}).values;
    return net.add(std::move(c));
  }
};

}  // namespace

NetDescription describe_ssd_mobilenetv1(const WeightMap& weights) {
  NetDescription net(kSsdModel, {kSsdInputSize, kSsdInputSize, 3});
  Builder b{weights, net};

  // mobileNetV1.ts
  ValueId x = b.pointwise(net.input(), "MobilenetV1/Conv2d_0_pointwise", 3, kBackboneChannels[0], 2);
  ValueId conv11 = x;
  for (int block = 1; block <= 13; ++block) {
    const std::string id = std::to_string(block);
    x = b.depthwise(x, "MobilenetV1/Conv2d_" + id + "_depthwise", strided_block(block) ? 2 : 1);
    x = b.pointwise(x, "MobilenetV1/Conv2d_" + id + "_pointwise", 1,
                    kBackboneChannels[static_cast<std::size_t>(block)], 1);
    if (block == 11) conv11 = x;
  }

  // predictionLayer.ts: four (1x1, 3x3/2) pairs take the 16x16 map down to 8, 4, 2 and 1.
  constexpr std::array<int, 8> kExtraChannels = {256, 512, 128, 256, 128, 256, 64, 128};
  std::array<ValueId, kSsdPredictors> features{conv11, x};
  ValueId extra = x;
  for (int i = 0; i < 8; ++i) {
    const bool reduce = i % 2 == 1;
    extra = b.pointwise(extra, "Prediction/Conv2d_" + std::to_string(i) + "_pointwise", reduce ? 3 : 1,
                        kExtraChannels[static_cast<std::size_t>(i)], reduce ? 2 : 1);
    if (reduce) features[static_cast<std::size_t>(2 + i / 2)] = extra;
  }

  // boxPredictionLayer.ts
  int anchors = 0;
  for (int p = 0; p < kSsdPredictors; ++p) {
    const auto idx = static_cast<std::size_t>(p);
    const std::string prefix = "Prediction/BoxPredictor_" + std::to_string(p);
    const ValueId boxes =
        b.predictor(features[idx], prefix + "/BoxEncodingPredictor", kAnchorsPerCell[idx] * 4);
    const ValueId classes = b.predictor(features[idx], prefix + "/ClassPredictor", kAnchorsPerCell[idx] * 3);
    net.mark_output(boxes, "box_encodings_" + std::to_string(p));
    net.mark_output(classes, "class_logits_" + std::to_string(p));
    anchors += net.shape(boxes).h * net.shape(boxes).w * kAnchorsPerCell[idx];
  }
  if (anchors != kSsdAnchors)
    throw Error(ErrorCode::model_error, "SSD predictors cover " + std::to_string(anchors) +
                                            " anchors, expected " + std::to_string(kSsdAnchors));
  return net;
}

}  // namespace facematch::models
