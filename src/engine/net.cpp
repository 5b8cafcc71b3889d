#include "engine/net.hpp"

#include "facematch/error.hpp"

namespace facematch::engine {
namespace {

[[noreturn]] void fail(const std::string& net, const std::string& message) {
  throw Error(ErrorCode::model_error, "net " + net + ": " + message);
}

}  // namespace

int window_output(int in, int kernel, int stride, int pad_before, int pad_after) {
  const int span = in + pad_before + pad_after - kernel;
  if (span < 0 || stride <= 0) throw Error(ErrorCode::internal, "window larger than its input");
  return span / stride + 1;
}

std::pair<int, int> tf_same_padding(int in, int kernel, int stride) {
  const int out = (in + stride - 1) / stride;
  const int total = std::max((out - 1) * stride + kernel - in, 0);
  return {total / 2, total - total / 2};
}

NetDescription::NetDescription(std::string name, Shape input) : name_(std::move(name)) {
  shapes_.push_back(input);
}

void NetDescription::mark_output(ValueId value, std::string name) {
  if (value < 0 || static_cast<std::size_t>(value) >= shapes_.size()) fail(name_, "output of an unknown value");
  outputs_.push_back({value, std::move(name)});
}

ValueId NetDescription::add(Op op) {
  auto in_shape = [&](ValueId v) -> const Shape& {
    if (v < 0 || static_cast<std::size_t>(v) >= shapes_.size()) fail(name_, "op reads an unknown value");
    return shapes_[static_cast<std::size_t>(v)];
  };
  Shape out = std::visit(
      [&](auto& o) -> Shape {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, Conv>) {
          const Shape& in = in_shape(o.input);
          const int in_per_group = o.depthwise ? 1 : in.c;
          if (o.depthwise && o.out_channels != in.c) fail(name_, "depthwise conv must keep the channel count");
          const std::size_t expected =
              static_cast<std::size_t>(o.out_channels) * in_per_group * o.kernel_h * o.kernel_w;
          if (o.weights.size() != expected) fail(name_, "conv weights have the wrong size");
          if (!o.bias.empty() && o.bias.size() != static_cast<std::size_t>(o.out_channels))
            fail(name_, "conv bias has the wrong size");
          Shape s{window_output(in.h, o.kernel_h, o.stride, o.pad.top, o.pad.bottom),
                  window_output(in.w, o.kernel_w, o.stride, o.pad.left, o.pad.right), o.out_channels};
          flops_ += 2.0 * s.h * s.w * s.c * in_per_group * o.kernel_h * o.kernel_w;
          return s;
        } else if constexpr (std::is_same_v<T, Pool>) {
          const Shape& in = in_shape(o.input);
          return {window_output(in.h, o.kernel, o.stride, o.pad.top, o.pad.bottom),
                  window_output(in.w, o.kernel, o.stride, o.pad.left, o.pad.right), in.c};
        } else if constexpr (std::is_same_v<T, Add>) {
          if (!(in_shape(o.a) == in_shape(o.b))) fail(name_, "add of differently shaped values");
          return in_shape(o.a);
        } else if constexpr (std::is_same_v<T, ZeroPad>) {
          const Shape& in = in_shape(o.input);
          return {in.h + o.spatial.top + o.spatial.bottom, in.w + o.spatial.left + o.spatial.right,
                  in.c + o.extra_channels};
        } else if constexpr (std::is_same_v<T, GlobalAverage>) {
          return {1, 1, in_shape(o.input).c};
        } else {
          const Shape& in = in_shape(o.input);
          const std::size_t in_features = static_cast<std::size_t>(in.h) * in.w * in.c;
          if (o.weights.size() != in_features * o.out_features) fail(name_, "dense weights have the wrong size");
          if (!o.bias.empty() && o.bias.size() != static_cast<std::size_t>(o.out_features))
            fail(name_, "dense bias has the wrong size");
          flops_ += 2.0 * in_features * o.out_features;
          return {1, 1, o.out_features};
        }
      },
      op);
  ops_.push_back(std::move(op));
  shapes_.push_back(out);
  return static_cast<ValueId>(shapes_.size() - 1);
}

}  // namespace facematch::engine
