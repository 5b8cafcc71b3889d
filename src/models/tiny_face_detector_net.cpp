#include "models/tiny_face_detector_net.hpp"

#include <string>

#include "facematch/error.hpp"
#include "models/layers.hpp"

namespace facematch::models {
namespace {

using engine::Activation;
using engine::NetDescription;
using engine::ValueId;

// leaky() in src/tinyYolov2/leaky.ts: the float32 constant 0.1 as a JS number.
constexpr float kLeakyAlpha = 0.10000000149011612f;

void make_leaky(engine::Conv& conv) {
  conv.activation = Activation::leaky;
  conv.leaky_alpha = kLeakyAlpha;
}

ValueId max_pool_same(NetDescription& net, ValueId in, int stride) {
  return net.add(engine::Pool{in, engine::PoolKind::max, 2, stride,
                              tf_padding(net.shape(in), 2, stride, TfPadding::same)});
}

// tinyYolov2/depthwiseSeparableConv.ts: tf.pad by 1, separableConv2d 'valid', + bias, leaky.
ValueId separable(NetDescription& net, const WeightMap& w, ValueId in, const std::string& prefix, int in_c,
                  int out_c) {
  auto dw =
      make_depthwise(net, in, w.get(prefix + "/depthwise_filter", {3, 3, in_c, 1}), 1, TfPadding::valid);
  dw.pad = {1, 1, 1, 1};
  const ValueId depthwise = net.add(std::move(dw));
  auto pw = make_conv(net, depthwise, w.get(prefix + "/pointwise_filter", {1, 1, in_c, out_c}), 1,
                      TfPadding::valid);
  pw.bias = w.get(prefix + "/bias", {out_c}).values;
  make_leaky(pw);
  return net.add(std::move(pw));
}

}  // namespace

NetDescription describe_tiny_face_detector(const WeightMap& weights, int input_size) {
  if (input_size < 32 || input_size % 32 != 0)
    throw Error(ErrorCode::invalid_argument, "tiny face detector input size " + std::to_string(input_size) +
                                                 " is not a positive multiple of 32");
  NetDescription net(std::string(kTinyFaceDetectorModel) + "@" + std::to_string(input_size),
                     {input_size, input_size, 3});
  // TinyYolov2Base.runMobilenet with isFirstLayerConv2d: a plain 3x3 'valid' conv (no padding) first.
  auto conv0 = make_conv(net, net.input(), weights.get("conv0/filters", {3, 3, 3, 16}), 1, TfPadding::valid);
  conv0.bias = weights.get("conv0/bias", {16}).values;
  make_leaky(conv0);
  ValueId x = max_pool_same(net, net.add(std::move(conv0)), 2);
  const int channels[] = {16, 32, 64, 128, 256, 512};
  for (int i = 1; i <= 5; ++i) {
    x = separable(net, weights, x, "conv" + std::to_string(i), channels[i - 1], channels[i]);
    x = max_pool_same(net, x, i == 5 ? 1 : 2);
  }
  // The model has no conv6/conv7 (filterSizes has 7 entries), so conv8 follows conv5's pool directly.
  constexpr int out_c = kTinyAnchorCount * kTinyBoxEncoding;
  auto conv8 = make_conv(net, x, weights.get("conv8/filters", {1, 1, 512, out_c}), 1, TfPadding::valid);
  conv8.bias = weights.get("conv8/bias", {out_c}).values;
  x = net.add(std::move(conv8));
  net.mark_output(x, "grid");
  return net;
}

}  // namespace facematch::models
