// Every op kind of engine/net.hpp alone, in each precision the engine runs it in, against a naive
// reference on random tensors (as ncnn and dlib test their layers): no model files, no fixture photos.
// Tolerances are relative to the largest reference value: fp32 is exact up to summation order; bf16
// rounds inputs, weights and outputs to 8 significant bits; int8 quantizes activations (one scale per
// tensor) and weights (one per output channel) to 8 bits.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/executor.hpp"
#include "engine/net.hpp"

namespace fe = facematch::engine;
using fe::DataType;
using fe::Shape;

namespace {

constexpr int kBatch = 2;  // every op also runs on a batch, whose items must not mix

std::vector<float> random_values(std::size_t n, unsigned seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 random(seed);
  std::uniform_real_distribution<float> uniform(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = uniform(random);
  return v;
}

std::size_t size_of(const Shape& s) { return static_cast<std::size_t>(s.h) * s.w * s.c; }

// NHWC element (b, y, x, c) of a batch of `s`-shaped items.
std::size_t at(const Shape& s, int b, int y, int x, int c) {
  return ((static_cast<std::size_t>(b) * s.h + y) * s.w + x) * s.c + c;
}

float activate(float x, fe::Activation a, float alpha) {
  switch (a) {
    case fe::Activation::none:
      return x;
    case fe::Activation::relu:
      return std::max(x, 0.f);
    case fe::Activation::relu6:
      return std::clamp(x, 0.f, 6.f);
    case fe::Activation::leaky:
      return x > 0 ? x : alpha * x;
  }
  return x;
}

std::vector<float> reference_conv(const std::vector<float>& in, const Shape& is, const fe::Conv& c,
                                  const Shape& os) {
  std::vector<float> out(size_of(os) * kBatch);
  for (int b = 0; b < kBatch; ++b)
    for (int oy = 0; oy < os.h; ++oy)
      for (int ox = 0; ox < os.w; ++ox)
        for (int oc = 0; oc < os.c; ++oc) {
          double acc = c.bias.empty() ? 0.0 : c.bias[static_cast<std::size_t>(oc)];
          for (int ky = 0; ky < c.kernel_h; ++ky)
            for (int kx = 0; kx < c.kernel_w; ++kx) {
              const int iy = oy * c.stride - c.pad.top + ky, ix = ox * c.stride - c.pad.left + kx;
              if (iy < 0 || ix < 0 || iy >= is.h || ix >= is.w) continue;  // zero padding
              if (c.depthwise) {
                acc += double(in[at(is, b, iy, ix, oc)]) *
                       c.weights[(static_cast<std::size_t>(oc) * c.kernel_h + ky) * c.kernel_w + kx];
              } else {
                for (int ic = 0; ic < is.c; ++ic)
                  acc +=
                      double(in[at(is, b, iy, ix, ic)]) *
                      c.weights[((static_cast<std::size_t>(oc) * is.c + ic) * c.kernel_h + ky) * c.kernel_w +
                                kx];
              }
            }
          out[at(os, b, oy, ox, oc)] = activate(static_cast<float>(acc), c.activation, c.leaky_alpha);
        }
  return out;
}

std::vector<float> reference_pool(const std::vector<float>& in, const Shape& is, const fe::Pool& p,
                                  const Shape& os) {
  std::vector<float> out(size_of(os) * kBatch);
  for (int b = 0; b < kBatch; ++b)
    for (int oy = 0; oy < os.h; ++oy)
      for (int ox = 0; ox < os.w; ++ox)
        for (int c = 0; c < os.c; ++c) {
          double sum = 0, best = -INFINITY;
          int cells = 0;
          for (int ky = 0; ky < p.kernel; ++ky)
            for (int kx = 0; kx < p.kernel; ++kx) {
              const int iy = oy * p.stride - p.pad.top + ky, ix = ox * p.stride - p.pad.left + kx;
              if (iy < 0 || ix < 0 || iy >= is.h || ix >= is.w) continue;  // padded cells do not count
              const double v = in[at(is, b, iy, ix, c)];
              sum += v;
              best = std::max(best, v);
              ++cells;
            }
          out[at(os, b, oy, ox, c)] = static_cast<float>(p.kind == fe::PoolKind::max ? best : sum / cells);
        }
  return out;
}

std::vector<DataType> precisions_here() {
  std::vector<DataType> types{DataType::f32};
  if (fe::cpu_supports_bf16()) types.push_back(DataType::bf16);
  if (fe::cpu_has_native_int8()) types.push_back(DataType::int8);
  return types;
}

const char* name_of(DataType t) {
  return t == DataType::f32 ? "fp32" : t == DataType::bf16 ? "bf16" : "int8";
}

// How far `type` may be from the reference, as a share of the largest reference value. `quantized`:
// the op runs in int8 under DataType::int8 (an ordinary convolution); every other op runs there as in
// bf16 where the CPU has it natively, else in fp32. Measured on AVX-512 with AMX (2026-12-03): fp32 at
// most 3e-7, bf16 3.5e-3, int8 6e-3, so these leave about 3x.
double tolerance(DataType type, bool quantized) {
  if (type == DataType::int8 && quantized) return 0.02;
  if (type == DataType::f32 || (type == DataType::int8 && !fe::cpu_has_native_bf16())) return 1e-5;
  return 0.01;
}

// `net` compiled in `type` (int8 calibrated on `input`, run in fp32) and run on `input`.
std::unique_ptr<fe::NetRunner> run_net(const fe::NetDescription& net, DataType type,
                                       const std::vector<float>& input) {
  std::vector<float> ranges;
  if (type == DataType::int8) {
    fe::NetRunner fp32(std::make_shared<const fe::CompiledNet>(net, kBatch));
    fp32.run(input);
    fe::update_value_ranges(fp32, ranges);
  }
  auto runner =
      std::make_unique<fe::NetRunner>(std::make_shared<const fe::CompiledNet>(net, kBatch, type, ranges));
  runner->run(input);
  return runner;
}

// Runs `net` on `input` in `type` (as run_net) and returns its output.
std::vector<float> run(const fe::NetDescription& net, DataType type, const std::vector<float>& input) {
  const auto runner = run_net(net, type, input);
  const auto out = runner->output(0);
  return {out.begin(), out.end()};
}

// The op added by `add` to a net reading a random `input_shape` tensor, in every precision, against
// `reference` (which maps the input to the expected output).
void check_op(
    const std::string& what, const Shape& input_shape, const std::function<fe::Op(fe::ValueId)>& make,
    const std::function<std::vector<float>(const std::vector<float>&, const fe::NetDescription&)>& reference,
    bool quantized_in_int8 = false, float input_lo = -1.f) {
  fe::NetDescription net("test_" + what, input_shape);
  net.mark_output(net.add(make(net.input())), "out");
  const auto input = random_values(size_of(input_shape) * kBatch, 7, input_lo, 1.f);
  const auto expected = reference(input, net);
  ASSERT_EQ(expected.size(), size_of(net.shape(net.outputs()[0].value)) * kBatch) << what;
  double largest = 0;
  for (const float x : expected) largest = std::max(largest, double(std::abs(x)));
  ASSERT_GT(largest, 0) << what << ": the reference is all zeros, the test would prove nothing";
  for (const auto type : precisions_here()) {
    const auto got = run(net, type, input);
    ASSERT_EQ(got.size(), expected.size()) << what << " " << name_of(type);
    double worst = 0;
    std::size_t worst_at = 0;
    for (std::size_t i = 0; i < got.size(); ++i)
      if (const double d = std::abs(double(got[i]) - expected[i]); d > worst) worst = d, worst_at = i;
    if (std::getenv("ENGINE_OPS_VERBOSE"))
      std::printf("%-28s %s %.2e\n", what.c_str(), name_of(type), worst / largest);
    EXPECT_LE(worst / largest, tolerance(type, quantized_in_int8))
        << what << " in " << name_of(type) << ": element " << worst_at << " is " << got[worst_at]
        << ", expected " << expected[worst_at] << " (largest |value| " << largest << ")";
  }
}

fe::Conv make_conv(fe::ValueId input, int in_c, int out_c, int k, int stride, fe::Padding pad, bool depthwise,
                   fe::Activation activation, unsigned seed) {
  fe::Conv c{};
  c.input = input;
  c.out_channels = out_c;
  c.kernel_h = c.kernel_w = k;
  c.stride = stride;
  c.pad = pad;
  c.depthwise = depthwise;
  const int per_group = depthwise ? 1 : in_c;
  // Scaled so outputs stay near 1 whatever the fan-in (relu6's clip then matters but does not dominate).
  const float bound = 1.5f / std::sqrt(float(per_group * k * k));
  c.weights = random_values(static_cast<std::size_t>(out_c) * per_group * k * k, seed, -bound, bound);
  c.bias = random_values(static_cast<std::size_t>(out_c), seed + 1, -0.3f, 0.3f);
  c.activation = activation;
  c.leaky_alpha = 0.1f;
  return c;
}

void check_conv(const std::string& what, const Shape& in, int out_c, int k, int stride, fe::Padding pad,
                bool depthwise, fe::Activation activation, bool no_bias = false) {
  auto conv = make_conv(0, in.c, depthwise ? in.c : out_c, k, stride, pad, depthwise, activation, 11);
  if (no_bias) conv.bias.clear();
  check_op(
      what, in, [&](fe::ValueId) { return fe::Op(fe::Conv(conv)); },
      [&](const std::vector<float>& x, const fe::NetDescription& net) {
        return reference_conv(x, in, conv, net.shape(1));
      },
      /*quantized_in_int8=*/!depthwise);
}

}  // namespace

TEST(EngineOps, ConvolutionWithSymmetricPadding) {
  check_conv("conv3x3 pad 1", {9, 11, 8}, 16, 3, 1, {1, 1, 1, 1}, false, fe::Activation::none);
}

// TensorFlow's SAME padding with stride 2 on an even input puts the odd row and column after.
TEST(EngineOps, ConvolutionWithAsymmetricPadding) {
  const auto [top, bottom] = fe::tf_same_padding(10, 3, 2);
  EXPECT_EQ(top, 0);
  EXPECT_EQ(bottom, 1);
  check_conv("conv3x3 stride 2 SAME", {10, 10, 6}, 12, 3, 2, {top, top, bottom, bottom}, false,
             fe::Activation::relu);
  check_conv("conv5x5 uneven pads", {12, 9, 4}, 8, 5, 1, {2, 0, 1, 3}, false, fe::Activation::leaky);
}

TEST(EngineOps, ConvolutionWithoutBiasAndPointwise) {
  check_conv("conv1x1 no bias", {7, 7, 32}, 24, 1, 1, {}, false, fe::Activation::relu6, /*no_bias=*/true);
}

TEST(EngineOps, ConvolutionActivations) {
  for (const auto a : {fe::Activation::relu, fe::Activation::relu6, fe::Activation::leaky})
    check_conv("conv3x3 activation " + std::to_string(int(a)), {8, 8, 8}, 8, 3, 1, {1, 1, 1, 1}, false, a);
}

TEST(EngineOps, DepthwiseConvolution) {
  check_conv("depthwise3x3 pad 1", {9, 9, 16}, 16, 3, 1, {1, 1, 1, 1}, true, fe::Activation::relu6);
  const auto [before, after] = fe::tf_same_padding(12, 3, 2);
  check_conv("depthwise3x3 stride 2 SAME", {12, 12, 8}, 8, 3, 2, {before, before, after, after}, true,
             fe::Activation::none);
}

// Marked float_in_int8, an ordinary convolution stays in float under int8.
TEST(EngineOps, ConvolutionKeptInFloatUnderInt8) {
  auto conv = make_conv(0, 6, 10, 3, 1, {1, 1, 1, 1}, false, fe::Activation::relu, 21);
  conv.float_in_int8 = true;
  const Shape in{8, 8, 6};
  check_op(
      "float_in_int8 conv", in, [&](fe::ValueId) { return fe::Op(fe::Conv(conv)); },
      [&](const std::vector<float>& x, const fe::NetDescription& net) {
        return reference_conv(x, in, conv, net.shape(1));
      },
      /*quantized_in_int8=*/false);
}

// Marked keep_fp32, a convolution runs in fp32 under every type, next to layers that round: the input
// and a value between layers are read in fp32 by the kept layers and in the net's type by the others
// (converted copies), and a pooling reads a kept layer's fp32 output. The kept layer on the input must
// match the reference to fp32's tolerance in every type (in bf16 it would be off by ~3e-3).
TEST(EngineOps, ConvolutionsKeptInFp32AmongRoundedOnes) {
  const Shape in{8, 8, 6};
  fe::NetDescription net("test_keep_fp32", in);
  const auto a = make_conv(0, 6, 8, 3, 1, {1, 1, 1, 1}, false, fe::Activation::relu, 71);
  const fe::ValueId va = net.add(a);
  auto b = make_conv(va, 8, 8, 3, 1, {1, 1, 1, 1}, false, fe::Activation::none, 72);
  b.keep_fp32 = true;
  const fe::ValueId vb = net.add(b);
  const auto c = make_conv(va, 8, 10, 1, 1, {}, false, fe::Activation::none, 73);
  const fe::ValueId vc = net.add(c);
  auto d = make_conv(0, 6, 12, 3, 1, {1, 1, 1, 1}, false, fe::Activation::leaky, 74);
  d.keep_fp32 = true;
  const fe::ValueId vd = net.add(d);
  const fe::Pool pool{vb, fe::PoolKind::max, 2, 2, {}};
  const fe::ValueId vp = net.add(pool);
  net.mark_output(vc, "c");
  net.mark_output(vd, "d");
  net.mark_output(vp, "pooled");

  const auto input = random_values(size_of(in) * kBatch, 17);
  const auto ra = reference_conv(input, in, a, net.shape(va));
  const auto rb = reference_conv(ra, net.shape(va), b, net.shape(vb));
  const std::vector<std::vector<float>> expected = {reference_conv(ra, net.shape(va), c, net.shape(vc)),
                                                    reference_conv(input, in, d, net.shape(vd)),
                                                    reference_pool(rb, net.shape(vb), pool, net.shape(vp))};
  for (const auto type : precisions_here()) {
    const auto runner = run_net(net, type, input);
    for (std::size_t o = 0; o < expected.size(); ++o) {
      const auto got = runner->output(o);
      ASSERT_EQ(got.size(), expected[o].size());
      double worst = 0, largest = 0;
      for (std::size_t i = 0; i < got.size(); ++i) {
        worst = std::max(worst, std::abs(double(got[i]) - expected[o][i]));
        largest = std::max(largest, double(std::abs(expected[o][i])));
      }
      ASSERT_GT(largest, 0);
      // Output 1 is the kept layer on the input: fp32 whatever the type. The others follow a rounded
      // layer: two layers' worth of the type's error.
      const double allowed = o == 1 ? tolerance(DataType::f32, false) : 2 * tolerance(type, true);
      EXPECT_LE(worst / largest, allowed) << net.outputs()[o].name << " in " << name_of(type);
    }
  }
}

TEST(EngineOps, MaxPoolIgnoresPaddedCells) {
  const Shape in{10, 10, 8};
  // Half the inputs are negative: a padded zero counted as a cell would win many windows at the edges.
  for (const auto& [kernel, stride, pad] :
       {std::tuple{3, 2, fe::Padding{0, 0, 1, 1}}, std::tuple{2, 2, fe::Padding{}},
        std::tuple{3, 1, fe::Padding{1, 1, 1, 1}}}) {
    const fe::Pool pool{0, fe::PoolKind::max, kernel, stride, pad};
    check_op(
        "maxpool " + std::to_string(kernel) + "/" + std::to_string(stride), in,
        [&](fe::ValueId) { return fe::Op(pool); },
        [&](const std::vector<float>& x, const fe::NetDescription& net) {
          return reference_pool(x, in, pool, net.shape(1));
        },
        false, /*input_lo=*/-1.f);
  }
}

TEST(EngineOps, AveragePoolExcludesPaddedCells) {
  const Shape in{9, 9, 8};
  const fe::Pool pool{0, fe::PoolKind::average, 3, 2, {1, 1, 1, 1}};
  check_op(
      "avgpool 3/2 pad 1", in, [&](fe::ValueId) { return fe::Op(pool); },
      [&](const std::vector<float>& x, const fe::NetDescription& net) {
        return reference_pool(x, in, pool, net.shape(1));
      });
}

// Add reads two values: the net input and a conv of it (the residual shape of the recognition net).
TEST(EngineOps, AddWithActivation) {
  const Shape in{6, 6, 8};
  for (const auto a : {fe::Activation::none, fe::Activation::relu}) {
    const auto conv = make_conv(0, 8, 8, 3, 1, {1, 1, 1, 1}, true, fe::Activation::none, 31);
    fe::NetDescription net("test_add", in);
    const auto branch = net.add(conv);
    net.mark_output(net.add(fe::Add{net.input(), branch, a}), "out");
    const auto input = random_values(size_of(in) * kBatch, 9);
    auto expected = reference_conv(input, in, conv, in);
    for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = activate(expected[i] + input[i], a, 0.f);
    double largest = 0;
    for (const float x : expected) largest = std::max(largest, double(std::abs(x)));
    for (const auto type : precisions_here()) {
      const auto got = run(net, type, input);
      ASSERT_EQ(got.size(), expected.size());
      double worst = 0;
      for (std::size_t i = 0; i < got.size(); ++i)
        worst = std::max(worst, std::abs(double(got[i]) - expected[i]));
      EXPECT_LE(worst / largest, tolerance(type, false)) << "add in " << name_of(type);
    }
  }
}

TEST(EngineOps, ZeroPadRowsColumnsAndChannels) {
  const Shape in{5, 7, 3};
  const fe::ZeroPad pad{0, {1, 2, 0, 3}, 5};
  check_op(
      "zero pad", in, [&](fe::ValueId) { return fe::Op(pad); },
      [&](const std::vector<float>& x, const fe::NetDescription& net) {
        const Shape os = net.shape(1);
        EXPECT_EQ(os, (Shape{6, 12, 8}));
        std::vector<float> out(size_of(os) * kBatch, 0.f);
        for (int b = 0; b < kBatch; ++b)
          for (int y = 0; y < in.h; ++y)
            for (int xx = 0; xx < in.w; ++xx)
              for (int c = 0; c < in.c; ++c)
                out[at(os, b, y + pad.spatial.top, xx + pad.spatial.left, c)] = x[at(in, b, y, xx, c)];
        return out;
      });
}

TEST(EngineOps, GlobalAverage) {
  const Shape in{7, 5, 16};
  check_op(
      "global average", in, [&](fe::ValueId) { return fe::Op(fe::GlobalAverage{0}); },
      [&](const std::vector<float>& x, const fe::NetDescription&) {
        std::vector<float> out(static_cast<std::size_t>(in.c) * kBatch, 0.f);
        for (int b = 0; b < kBatch; ++b)
          for (int c = 0; c < in.c; ++c) {
            double sum = 0;
            for (int y = 0; y < in.h; ++y)
              for (int xx = 0; xx < in.w; ++xx) sum += x[at(in, b, y, xx, c)];
            out[static_cast<std::size_t>(b) * in.c + c] = static_cast<float>(sum / (in.h * in.w));
          }
        return out;
      },
      false, /*input_lo=*/0.f);
}

// Dense over a 1x1xC value (after a global average, as in the recognition and landmark nets); the
// engine refuses a spatial input when it compiles the net.
TEST(EngineOps, DenseMatmul) {
  const Shape in{1, 1, 64};
  fe::Dense dense{};
  dense.input = 0;
  dense.out_features = 10;
  const std::size_t features = size_of(in);
  dense.weights = random_values(10 * features, 41, -0.3f, 0.3f);
  dense.bias = random_values(10, 42, -0.5f, 0.5f);
  check_op(
      "dense", in, [&](fe::ValueId) { return fe::Op(fe::Dense(dense)); },
      [&](const std::vector<float>& x, const fe::NetDescription&) {
        std::vector<float> out(10 * kBatch);
        for (std::size_t b = 0; b < kBatch; ++b)
          for (std::size_t o = 0; o < 10; ++o) {
            double acc = dense.bias[o];
            for (std::size_t i = 0; i < features; ++i)
              acc += double(x[b * features + i]) * dense.weights[o * features + i];
            out[b * 10 + o] = static_cast<float>(acc);
          }
        return out;
      });
  fe::NetDescription spatial("test_dense_spatial", {2, 3, 4});
  auto wide = dense;
  wide.weights = random_values(10 * 24, 43);
  spatial.mark_output(spatial.add(wide), "out");
  EXPECT_ANY_THROW(fe::CompiledNet(spatial, 1));
}

// Two int8 convolutions in a row: the value between them is stored quantized (u8 after a relu), and
// the chain stays within two quantization steps of the reference.
TEST(EngineOps, ChainedConvolutionsKeepTheirAccuracyInInt8) {
  const Shape in{10, 10, 8};
  const auto first = make_conv(0, 8, 16, 3, 1, {1, 1, 1, 1}, false, fe::Activation::relu, 51);
  const auto second = make_conv(1, 16, 12, 3, 1, {1, 1, 1, 1}, false, fe::Activation::none, 52);
  fe::NetDescription net("test_chain", in);
  auto reads_first = second;
  reads_first.input = net.add(first);
  net.mark_output(net.add(reads_first), "out");
  const auto input = random_values(size_of(in) * kBatch, 13);
  const auto middle = reference_conv(input, in, first, net.shape(1));
  const auto expected = reference_conv(middle, net.shape(1), second, net.shape(2));
  double largest = 0;
  for (const float x : expected) largest = std::max(largest, double(std::abs(x)));
  for (const auto type : precisions_here()) {
    const auto got = run(net, type, input);
    double worst = 0;
    for (std::size_t i = 0; i < got.size(); ++i)
      worst = std::max(worst, std::abs(double(got[i]) - expected[i]));
    EXPECT_LE(worst / largest, 2 * tolerance(type, true)) << "chain in " << name_of(type);
  }
}

// A description that cannot be built fails when it is described, not when it runs.
TEST(EngineOps, ImpossibleGeometryFailsAtDescription) {
  fe::NetDescription net("test_bad", {4, 4, 3});
  auto conv = make_conv(0, 3, 8, 3, 1, {}, false, fe::Activation::none, 61);
  conv.weights.pop_back();
  EXPECT_ANY_THROW(net.add(conv));
  EXPECT_ANY_THROW(net.add(fe::Pool{0, fe::PoolKind::max, 5, 1, {}}));
  EXPECT_ANY_THROW(net.add(fe::Add{0, 7}));
}
