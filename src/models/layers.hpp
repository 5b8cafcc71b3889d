// Helpers the net builders share: tfjs tensor layouts to the engine's, and folding the per-channel
// affine layers (batch norm, face-api "scale") into the convolution in front of them.
#pragma once

#include <string>
#include <vector>

#include "engine/net.hpp"
#include "models/weights.hpp"

namespace facematch::models {

// [kh, kw, in, out] -> [out, in, kh, kw]
std::vector<float> hwio_to_oihw(const Tensor& filters);
// [kh, kw, channels, 1] -> [channels, 1, kh, kw]
std::vector<float> depthwise_to_oihw(const Tensor& filters);
// [in, out] -> [out, in]
std::vector<float> transpose_matrix(const Tensor& matrix);

// y = conv(x) * scale + shift, per output channel; an empty bias counts as zero.
void fold_affine(engine::Conv& conv, const std::vector<float>& scale, const std::vector<float>& shift);

// tf.batchNorm(x, mean, variance, offset, scale, epsilon) folded into the convolution before it.
void fold_batch_norm(engine::Conv& conv, const std::vector<float>& mean, const std::vector<float>& variance,
                     const std::vector<float>& offset, const std::vector<float>& gamma, float epsilon);

// A convolution from a HWIO filter tensor of the given kernel size, with TensorFlow 'SAME' or 'VALID'
// padding computed for `input`.
enum class TfPadding { same, valid };
engine::Conv make_conv(const engine::NetDescription& net, engine::ValueId input, const Tensor& filters_hwio,
                       int stride, TfPadding padding);
engine::Conv make_depthwise(const engine::NetDescription& net, engine::ValueId input, const Tensor& filters,
                            int stride, TfPadding padding);
engine::Padding tf_padding(const engine::Shape& in, int kernel, int stride, TfPadding padding);

}  // namespace facematch::models
