#include "models/recognition_net.hpp"

#include "models/layers.hpp"

namespace facematch::models {
namespace {

using engine::Activation;
using engine::NetDescription;
using engine::ValueId;

struct Builder {
  const WeightMap& w;
  NetDescription& net;
  // Marks the convolutions added while it is set as float under int8 (engine::Conv::float_in_int8).
  bool float_in_int8 = false;

  // conv -> + bias -> * scale + shift -> optional relu (face-api's convLayer).
  ValueId conv(ValueId in, const std::string& prefix, int in_c, int out_c, int kernel, int stride,
               TfPadding padding, bool relu) {
    auto c =
        make_conv(net, in, w.get(prefix + "/conv/filters", {kernel, kernel, in_c, out_c}), stride, padding);
    c.bias = w.get(prefix + "/conv/bias", {out_c}).values;
    fold_affine(c, w.get(prefix + "/scale/weights", {out_c}).values,
                w.get(prefix + "/scale/biases", {out_c}).values);
    c.activation = relu ? Activation::relu : Activation::none;
    c.float_in_int8 = float_in_int8;
    return net.add(std::move(c));
  }

  ValueId residual(ValueId in, const std::string& prefix, int c) {
    ValueId out = conv(in, prefix + "/conv1", c, c, 3, 1, TfPadding::same, true);
    out = conv(out, prefix + "/conv2", c, c, 3, 1, TfPadding::same, false);
    return net.add(engine::Add{out, in, Activation::relu});
  }

  // Main path: 3x3/2 valid conv + relu, then conv. Shortcut: 2x2/2 average pool with zero channels
  // appended. When the main path comes out one smaller (odd input), it gets a zero row at the
  // bottom and a zero column at the right, as face-api's residualDown does.
  ValueId residual_down(ValueId in, const std::string& prefix, int in_c, int out_c) {
    ValueId out = conv(in, prefix + "/conv1", in_c, out_c, 3, 2, TfPadding::valid, true);
    out = conv(out, prefix + "/conv2", out_c, out_c, 3, 1, TfPadding::same, false);
    ValueId pooled = net.add(engine::Pool{in, engine::PoolKind::average, 2, 2, {}});
    if (out_c != in_c) pooled = net.add(engine::ZeroPad{pooled, {}, out_c - in_c});
    const auto& ps = net.shape(pooled);
    const auto& os = net.shape(out);
    if (ps.h != os.h || ps.w != os.w)
      out = net.add(engine::ZeroPad{out, {0, 0, ps.h - os.h, ps.w - os.w}, 0});
    return net.add(engine::Add{pooled, out, Activation::relu});
  }
};

}  // namespace

NetDescription describe_recognition_net(const WeightMap& weights) {
  NetDescription net(kRecognitionModel, {kRecognitionInputSize, kRecognitionInputSize, 3});
  Builder b{weights, net};
  // int8 keeps the first stage (the 7x7 conv and the 32-channel blocks) in float. Quantizing every layer
  // gave a median descriptor distance to fp32 of 0.023 on the gate's subset (over its 0.02); errors
  // made early grow through the rest of the net. See docs/speed.md "Precision, batching and threads".
  b.float_in_int8 = true;
  ValueId x = b.conv(net.input(), "conv32_down", 3, 32, 7, 2, TfPadding::valid, true);
  x = net.add(engine::Pool{x, engine::PoolKind::max, 3, 2, {}});
  for (const char* name : {"conv32_1", "conv32_2", "conv32_3"}) x = b.residual(x, name, 32);
  b.float_in_int8 = false;
  x = b.residual_down(x, "conv64_down", 32, 64);
  for (const char* name : {"conv64_1", "conv64_2", "conv64_3"}) x = b.residual(x, name, 64);
  x = b.residual_down(x, "conv128_down", 64, 128);
  for (const char* name : {"conv128_1", "conv128_2"}) x = b.residual(x, name, 128);
  x = b.residual_down(x, "conv256_down", 128, 256);
  for (const char* name : {"conv256_1", "conv256_2"}) x = b.residual(x, name, 256);
  x = b.residual_down(x, "conv256_down_out", 256, 256);
  x = net.add(engine::GlobalAverage{x});
  const auto& fc = weights.get("fc", {256, kDescriptorSize});
  x = net.add(engine::Dense{x, kDescriptorSize, transpose_matrix(fc), {}});
  net.mark_output(x, "descriptor");
  return net;
}

}  // namespace facematch::models
