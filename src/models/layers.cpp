#include "models/layers.hpp"

#include <cmath>

#include "facematch/error.hpp"

namespace facematch::models {

std::vector<float> hwio_to_oihw(const Tensor& t) {
  if (t.shape.size() != 4) throw Error(ErrorCode::model_error, "tensor " + t.name + " is not a 4-D filter");
  const int kh = t.shape[0], kw = t.shape[1], ci = t.shape[2], co = t.shape[3];
  std::vector<float> out(t.values.size());
  for (int y = 0; y < kh; ++y)
    for (int x = 0; x < kw; ++x)
      for (int i = 0; i < ci; ++i)
        for (int o = 0; o < co; ++o)
          out[((static_cast<std::size_t>(o) * ci + i) * kh + y) * kw + x] =
              t.values[((static_cast<std::size_t>(y) * kw + x) * ci + i) * co + o];
  return out;
}

std::vector<float> depthwise_to_oihw(const Tensor& t) {
  if (t.shape.size() != 4 || t.shape[3] != 1)
    throw Error(ErrorCode::model_error, "tensor " + t.name + " is not a depthwise filter [kh, kw, c, 1]");
  const int kh = t.shape[0], kw = t.shape[1], c = t.shape[2];
  std::vector<float> out(t.values.size());
  for (int y = 0; y < kh; ++y)
    for (int x = 0; x < kw; ++x)
      for (int i = 0; i < c; ++i)
        out[(static_cast<std::size_t>(i) * kh + y) * kw + x] =
            t.values[(static_cast<std::size_t>(y) * kw + x) * c + i];
  return out;
}

std::vector<float> transpose_matrix(const Tensor& t) {
  if (t.shape.size() != 2) throw Error(ErrorCode::model_error, "tensor " + t.name + " is not a matrix");
  const int rows = t.shape[0], cols = t.shape[1];
  std::vector<float> out(t.values.size());
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c)
      out[static_cast<std::size_t>(c) * rows + r] = t.values[static_cast<std::size_t>(r) * cols + c];
  return out;
}

void fold_affine(engine::Conv& conv, const std::vector<float>& scale, const std::vector<float>& shift) {
  const auto channels = static_cast<std::size_t>(conv.out_channels);
  if (scale.size() != channels || shift.size() != channels)
    throw Error(ErrorCode::model_error, "affine layer does not match the convolution's channels");
  const std::size_t per_channel = conv.weights.size() / channels;
  if (conv.bias.empty()) conv.bias.assign(channels, 0.f);
  for (std::size_t o = 0; o < channels; ++o) {
    for (std::size_t k = 0; k < per_channel; ++k) conv.weights[o * per_channel + k] *= scale[o];
    conv.bias[o] = conv.bias[o] * scale[o] + shift[o];
  }
}

void fold_batch_norm(engine::Conv& conv, const std::vector<float>& mean, const std::vector<float>& variance,
                     const std::vector<float>& offset, const std::vector<float>& gamma, float epsilon) {
  const std::size_t n = mean.size();
  std::vector<float> scale(n), shift(n);
  for (std::size_t i = 0; i < n; ++i) {
    scale[i] = gamma[i] / std::sqrt(variance[i] + epsilon);
    shift[i] = offset[i] - mean[i] * scale[i];
  }
  fold_affine(conv, scale, shift);
}

engine::Padding tf_padding(const engine::Shape& in, int kernel, int stride, TfPadding padding) {
  if (padding == TfPadding::valid) return {};
  const auto [top, bottom] = engine::tf_same_padding(in.h, kernel, stride);
  const auto [left, right] = engine::tf_same_padding(in.w, kernel, stride);
  return {top, left, bottom, right};
}

engine::Conv make_conv(const engine::NetDescription& net, engine::ValueId input, const Tensor& filters,
                       int stride, TfPadding padding) {
  engine::Conv conv;
  conv.input = input;
  conv.kernel_h = filters.shape.at(0);
  conv.kernel_w = filters.shape.at(1);
  conv.out_channels = filters.shape.at(3);
  conv.stride = stride;
  conv.pad = tf_padding(net.shape(input), conv.kernel_h, stride, padding);
  conv.weights = hwio_to_oihw(filters);
  return conv;
}

engine::Conv make_depthwise(const engine::NetDescription& net, engine::ValueId input, const Tensor& filters,
                            int stride, TfPadding padding) {
  engine::Conv conv;
  conv.input = input;
  conv.kernel_h = filters.shape.at(0);
  conv.kernel_w = filters.shape.at(1);
  conv.out_channels = filters.shape.at(2);
  conv.depthwise = true;
  conv.stride = stride;
  conv.pad = tf_padding(net.shape(input), conv.kernel_h, stride, padding);
  conv.weights = depthwise_to_oihw(filters);
  return conv;
}

}  // namespace facematch::models
