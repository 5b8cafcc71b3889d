#include "models/blazeface_net.hpp"

#include <string>
#include <utility>

#include "facematch/error.hpp"
#include "models/layers.hpp"

namespace facematch::models {
namespace {

using engine::Activation;
using engine::NetDescription;
using engine::ValueId;

const std::string kPrefix = "StatefulPartitionedCall/model/";

// The graph's BlazeBlocks run in this order; these strides 2 halve the map (64 -> 32 -> 16 -> 8).
constexpr int kBlocks = 16;
constexpr int kOutChannels[kBlocks] = {24, 28, 32, 36, 42, 48, 56, 64, 72, 80, 88, 96, 96, 96, 96, 96};
constexpr bool is_stride2(int block) { return block == 2 || block == 5 || block == 11; }
// The 16x16 heads read the output of this block; the 8x8 heads read the last block's.
constexpr int kFirstHeadBlock = 10;

struct Builder {
  const WeightMap& w;
  NetDescription& net;

  const Tensor& tensor(const std::string& name, std::initializer_list<int> shape) const {
    return w.get(kPrefix + name, shape);
  }

  // depthwise 3x3 (no bias) -> pointwise 1x1 with the folded batch norm's offset; the shortcut is max
  // pooled where the block strides and zero-padded on channels where it widens; relu after the sum.
  ValueId blaze_block(ValueId in, int block) {
    const int in_c = net.shape(in).c;
    // Keras names the first layer of a kind without a suffix.
    std::string dw_name = "depthwise_conv2d";
    if (block > 0) dw_name += '_' + std::to_string(block);
    const std::string pw_name = "conv2d_" + std::to_string(block + 1);
    const int stride = is_stride2(block) ? 2 : 1;
    const int out_c = kOutChannels[block];
    const auto& pw_weights = tensor(pw_name + "/Conv2D_weights", {1, 1, in_c, out_c});
    const ValueId depthwise = net.add(make_depthwise(
        net, in, tensor(dw_name + "/depthwise/ReadVariableOp", {3, 3, in_c, 1}), stride, TfPadding::same));
    auto pw = make_conv(net, depthwise, pw_weights, 1, TfPadding::valid);
    pw.bias = tensor(pw_name + "/Conv2D_bn_offset", {out_c}).values;
    const ValueId branch = net.add(std::move(pw));
    ValueId shortcut = in;
    if (stride == 2) shortcut = net.add(engine::Pool{in, engine::PoolKind::max, 2, 2, {}});
    if (out_c > in_c) shortcut = net.add(engine::ZeroPad{shortcut, {}, out_c - in_c});
    return net.add(engine::Add{shortcut, branch, Activation::relu});
  }

  ValueId head(ValueId in, const std::string& name, int outputs) {
    const int in_c = net.shape(in).c;
    auto conv = make_conv(net, in, tensor(name + "/Conv2D/ReadVariableOp", {1, 1, in_c, outputs}), 1,
                          TfPadding::same);
    conv.bias = tensor(name + "/BiasAdd/ReadVariableOp", {outputs}).values;
    return net.add(std::move(conv));
  }
};

}  // namespace

NetDescription describe_blazeface(const WeightMap& weights, int input_size) {
  if (input_size < 16 || input_size % 16 != 0)
    throw Error(ErrorCode::invalid_argument, "BlazeFace's input size must be a multiple of 16");
  NetDescription net(kBlazeFaceModel, {input_size, input_size, 3});
  Builder b{weights, net};
  auto stem =
      make_conv(net, net.input(), b.tensor("conv2d/Conv2D_weights", {5, 5, 3, 24}), 2, TfPadding::same);
  stem.bias = b.tensor("conv2d/Conv2D_bn_offset", {24}).values;
  stem.activation = Activation::relu;
  ValueId x = net.add(std::move(stem));
  for (int block = 0; block < kBlocks; ++block) {
    x = b.blaze_block(x, block);
    if (block == kFirstHeadBlock) {
      net.mark_output(b.head(x, "classificator_8", 2), "classificator_8");
      net.mark_output(b.head(x, "regressor_8", 2 * kBlazeFaceRegressors), "regressor_8");
    }
  }
  net.mark_output(b.head(x, "classificator_16", 6), "classificator_16");
  net.mark_output(b.head(x, "regressor_16", 6 * kBlazeFaceRegressors), "regressor_16");
  return net;
}

std::vector<float> blazeface_objects(std::span<const float> classificator_8,
                                     std::span<const float> regressor_8,
                                     std::span<const float> classificator_16,
                                     std::span<const float> regressor_16) {
  constexpr std::size_t kRow = 1 + kBlazeFaceRegressors;
  const std::size_t anchors = classificator_8.size() + classificator_16.size();
  if (regressor_8.size() != classificator_8.size() * kBlazeFaceRegressors ||
      regressor_16.size() != classificator_16.size() * kBlazeFaceRegressors)
    throw Error(ErrorCode::internal, "BlazeFace outputs of one batch item have unexpected sizes");
  std::vector<float> objects(anchors * kRow);
  std::size_t anchor = 0;
  for (const auto& [logits, regressors] :
       {std::pair{classificator_8, regressor_8}, {classificator_16, regressor_16}})
    for (std::size_t i = 0; i < logits.size(); ++i, ++anchor) {
      objects[anchor * kRow] = logits[i];
      for (std::size_t r = 0; r < kBlazeFaceRegressors; ++r)
        objects[anchor * kRow + 1 + r] = regressors[i * kBlazeFaceRegressors + r];
    }
  return objects;
}

}  // namespace facematch::models
