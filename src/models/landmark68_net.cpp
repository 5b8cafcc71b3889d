#include "models/landmark68_net.hpp"

#include <string>

#include "models/layers.hpp"

namespace facematch::models {
namespace {

using engine::Activation;
using engine::Add;
using engine::NetDescription;
using engine::ValueId;

struct Builder {
  const WeightMap& w;
  NetDescription& net;

  // common/depthwiseSeparableConv.ts: separableConv2d 'same' + bias. The relu that follows conv0 is
  // fused; the other convs feed additions, so they stay linear.
  ValueId separable(ValueId in, const std::string& prefix, int in_c, int out_c, int stride, Activation act) {
    auto dw = make_depthwise(net, in, w.get(prefix + "/depthwise_filter", {3, 3, in_c, 1}), stride,
                             TfPadding::same);
    const ValueId depthwise = net.add(std::move(dw));
    auto pw = make_conv(net, depthwise, w.get(prefix + "/pointwise_filter", {1, 1, in_c, out_c}), 1,
                        TfPadding::valid);
    pw.bias = w.get(prefix + "/bias", {out_c}).values;
    pw.activation = act;
    return net.add(std::move(pw));
  }

  // faceFeatureExtractor/denseBlock.ts denseBlock4 (isScaleDown). The additions are nested as there
  // (out1 + (out2 + (out3 + out4))) so float rounding follows the same order.
  ValueId dense_block4(ValueId in, const std::string& prefix, int in_c, int out_c, bool first) {
    ValueId out1;
    if (first) {
      auto conv =
          make_conv(net, in, w.get(prefix + "/conv0/filters", {3, 3, in_c, out_c}), 2, TfPadding::same);
      conv.bias = w.get(prefix + "/conv0/bias", {out_c}).values;
      conv.activation = Activation::relu;
      out1 = net.add(std::move(conv));
    } else {
      out1 = separable(in, prefix + "/conv0", in_c, out_c, 2, Activation::relu);
    }
    const ValueId out2 = separable(out1, prefix + "/conv1", out_c, out_c, 1, Activation::none);
    const ValueId in3 = net.add(Add{out1, out2, Activation::relu});
    const ValueId out3 = separable(in3, prefix + "/conv2", out_c, out_c, 1, Activation::none);
    const ValueId in4 = net.add(Add{out1, net.add(Add{out2, out3}), Activation::relu});
    const ValueId out4 = separable(in4, prefix + "/conv3", out_c, out_c, 1, Activation::none);
    const ValueId sum34 = net.add(Add{out3, out4});
    const ValueId sum234 = net.add(Add{out2, sum34});
    return net.add(Add{out1, sum234, Activation::relu});
  }
};

}  // namespace

NetDescription describe_landmark68_net(const WeightMap& weights) {
  NetDescription net(kLandmark68Model, {kLandmarkInputSize, kLandmarkInputSize, 3});
  Builder b{weights, net};
  ValueId x = b.dense_block4(net.input(), "dense0", 3, 32, true);
  x = b.dense_block4(x, "dense1", 32, 64, false);
  x = b.dense_block4(x, "dense2", 64, 128, false);
  x = b.dense_block4(x, "dense3", 128, 256, false);
  // tf.avgPool 7x7/2 'valid' on the 7x7 map: one window, the global mean.
  x = net.add(engine::Pool{x, engine::PoolKind::average, 7, 2, {}});
  const auto& fc = weights.get("fc/weights", {256, kLandmarkOutputs});
  x = net.add(engine::Dense{x, kLandmarkOutputs, transpose_matrix(fc),
                            weights.get("fc/bias", {kLandmarkOutputs}).values});
  net.mark_output(x, "landmarks");
  return net;
}

}  // namespace facematch::models
