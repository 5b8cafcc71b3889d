#include "engine/executor.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <dnnl.hpp>
#include <exception>
#include <optional>
#include <unordered_map>

#include "facematch/error.hpp"

namespace facematch::engine {
namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

memory::desc activation_md(int batch, const Shape& s, dt type = dt::f32) {
  return memory::desc({batch, s.c, s.h, s.w}, type, tag::nhwc);
}

// dst_scale: the quantization step of an int8 destination. oneDNN applies post-ops to the scaled
// result, so a bound in real units (relu6's 6) is divided by it.
dnnl::primitive_attr make_attr(Activation activation, float leaky_alpha, float dst_scale = 1.f) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::post_ops ops;
  switch (activation) {
    case Activation::none:
      break;
    case Activation::relu:
      ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
      break;
    case Activation::relu6:
      ops.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, 0.f, 6.f / dst_scale);
      break;
    case Activation::leaky:
      ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, leaky_alpha, 0.f);
      break;
  }
  attr.set_post_ops(ops);
  return attr;
}

// Weights given in a plain layout, reordered (and converted) once into what the primitive asked for
// (for s8 weights read with s8 activations, that includes oneDNN's compensation terms).
memory prepare_weights(const void* plain, const memory::desc& plain_md, const memory::desc& wanted) {
  auto& eng = cpu_engine();
  memory user(plain_md, eng, const_cast<void*>(plain));
  memory prepared(wanted, eng);
  dnnl::stream stream(eng);
  dnnl::reorder(user, prepared).execute(stream, user, prepared);
  stream.wait();
  return prepared;
}

std::vector<ValueId> inputs_of(const Op& op) {
  return std::visit(
      [](const auto& o) -> std::vector<ValueId> {
        if constexpr (std::is_same_v<std::decay_t<decltype(o)>, Add>) {
          return {o.a, o.b};
        } else {
          return {o.input};
        }
      },
      op);
}

bool is_int8_conv(const Op& op) {
  // Depthwise layers are memory-bound: int8 would save little there and no calibrated net has them.
  const auto* conv = std::get_if<Conv>(&op);
  return conv != nullptr && !conv->depthwise && !conv->float_in_int8 && !conv->keep_fp32;
}

// Values that cannot be negative (after relu, and what pooling or padding makes of such values): int8
// layers read them as u8, with twice the resolution of s8.
std::vector<bool> non_negative_values(const NetDescription& d) {
  std::vector<bool> non_negative(d.value_count(), false);
  const auto nn = [&](ValueId v) { return static_cast<bool>(non_negative[static_cast<std::size_t>(v)]); };
  for (std::size_t i = 0; i < d.ops().size(); ++i) {
    non_negative[i + 1] = std::visit(
        [&](const auto& o) -> bool {
          using T = std::decay_t<decltype(o)>;
          if constexpr (std::is_same_v<T, Conv>) {
            return o.activation == Activation::relu || o.activation == Activation::relu6;
          } else if constexpr (std::is_same_v<T, Add>) {
            return o.activation == Activation::relu || (nn(o.a) && nn(o.b));
          } else if constexpr (std::is_same_v<T, Dense>) {
            return false;
          } else {
            return nn(o.input);
          }
        },
        d.ops()[i]);
  }
  return non_negative;
}

// Symmetric per-output-channel quantization of OIHW weights: q = round(w / scale[o]), |q| <= 127.
struct QuantizedWeights {
  std::vector<std::int8_t> values;
  std::vector<float> scales;
};
QuantizedWeights quantize_weights(const std::vector<float>& weights, int out_channels) {
  QuantizedWeights q;
  q.values.resize(weights.size());
  q.scales.resize(static_cast<std::size_t>(out_channels));
  const std::size_t per_channel = weights.size() / q.scales.size();
  for (std::size_t o = 0; o < q.scales.size(); ++o) {
    const auto first = weights.begin() + static_cast<std::ptrdiff_t>(o * per_channel);
    float largest = 0.f;
    for (auto it = first; it != first + static_cast<std::ptrdiff_t>(per_channel); ++it)
      largest = std::max(largest, std::fabs(*it));
    q.scales[o] = largest > 0.f ? largest / 127.f : 1.f;
    for (std::size_t k = 0; k < per_channel; ++k) {
      const long r = std::lround(weights[o * per_channel + k] / q.scales[o]);
      q.values[o * per_channel + k] = static_cast<std::int8_t>(std::clamp(r, -127L, 127L));
    }
  }
  return q;
}

memory make_bias(const std::vector<float>& bias) {
  memory m(memory::desc({static_cast<memory::dim>(bias.size())}, dt::f32, tag::x), cpu_engine());
  std::memcpy(m.get_data_handle(), bias.data(), bias.size() * sizeof(float));
  return m;
}

}  // namespace

// One executable step: a primitive plus the constant arguments it owns (weights, bias) and which
// values it reads and writes.
struct Step {
  dnnl::primitive primitive;
  std::string implementation;
  std::vector<std::pair<int, ValueId>> value_args;  // (DNNL_ARG_*, value)
  std::vector<std::pair<int, memory>> constant_args;
  ValueId output;
  // ZeroPad writes into a sub-region of its output; the rest stays zero from allocation.
  bool writes_subregion = false;
  memory::desc subregion_md;
  memory::desc src_md;
  std::size_t scratchpad_bytes = 0;
};

struct CompiledNet::Impl {
  std::vector<Step> steps;
  std::size_t scratchpad_bytes = 0;
  std::vector<dt> value_types;
  // Every buffer a runner allocates: the description's values, then (int8) the quantized copies of
  // float values that int8 convolutions read. value_scales: the real value of one integer step
  // (1 for float buffers).
  std::vector<memory::desc> buffer_mds;
  std::vector<float> value_scales;
  // bf16 nets: fp32 caller input -> bf16 value 0, and bf16 outputs -> fp32 copies.
  std::optional<dnnl::reorder> input_reorder;
  std::vector<std::optional<dnnl::reorder>> output_reorders;  // per output; empty when it is fp32
};

CompiledNet::~CompiledNet() = default;

CompiledNet::CompiledNet(NetDescription description, int batch, DataType type,
                         std::vector<float> value_ranges)
    : description_(std::move(description)),
      batch_(batch),
      type_(type),
      threads_(threads_for_this_thread()),
      impl_(std::make_unique<Impl>()) {
  auto& eng = cpu_engine();
  const auto& d = description_;
  // int8 runs what it does not quantize in bf16 where the CPU has it natively.
  const dt inner =
      type == DataType::bf16 || (type == DataType::int8 && cpu_has_native_bf16()) ? dt::bf16 : dt::f32;
  // The float type each op that is not quantized computes in: the net's, or fp32 for a layer kept there.
  const auto op_type = [&](const Op& op) {
    const auto* conv = std::get_if<Conv>(&op);
    return conv != nullptr && conv->keep_fp32 ? dt::f32 : inner;
  };
  // Values between layers take the net's type. An output that only a conv or dense layer writes and
  // nothing reads is written as fp32 directly, which saves a rounding and a conversion pass. A layer kept
  // in fp32 writes fp32, and a value it reads is written in fp32 where its producer can (a conv or dense
  // layer in bf16 accumulates in fp32 anyway; the caller's input is fp32), so it reads it unrounded.
  auto& types = impl_->value_types;
  types.assign(d.value_count(), inner);
  if (inner != dt::f32) {
    std::vector<bool> read(d.value_count(), false), fp32_capable(d.value_count(), false),
        read_in_fp32(d.value_count(), false);
    fp32_capable[0] = true;
    for (std::size_t i = 0; i < d.ops().size(); ++i) {
      const bool fp32_op = op_type(d.ops()[i]) == dt::f32;
      for (const ValueId v : inputs_of(d.ops()[i])) {
        read[static_cast<std::size_t>(v)] = true;
        if (fp32_op) read_in_fp32[static_cast<std::size_t>(v)] = true;
      }
      fp32_capable[i + 1] =
          std::holds_alternative<Conv>(d.ops()[i]) || std::holds_alternative<Dense>(d.ops()[i]);
      if (fp32_op) types[i + 1] = dt::f32;
    }
    for (const auto& o : d.outputs()) {
      const auto v = static_cast<std::size_t>(o.value);
      if (v != 0 && !read[v] && fp32_capable[v]) types[v] = dt::f32;
    }
    for (std::size_t v = 0; v < d.value_count(); ++v)
      if (read_in_fp32[v] && fp32_capable[v]) types[v] = dt::f32;
  }

  // int8 plan. A value only int8 convolutions read, written by one, is stored quantized; a float value
  // that an int8 convolution reads gets a quantized copy, made right after the value is computed.
  const bool int8 = type == DataType::int8;
  const std::size_t n_values = d.value_count();
  std::vector<bool> int8_read(n_values, false), float_read(n_values, false), int8_written(n_values, false);
  std::vector<float> quant_scale(n_values, 1.f);
  std::vector<dt> quant_type(n_values, dt::u8);
  std::vector<bool> stored_quantized(n_values, false);
  std::vector<ValueId> quantized_copy(n_values, -1);
  if (int8) {
    if (value_ranges.size() != n_values)
      throw Error(ErrorCode::model_error,
                  "net " + d.name() + ": int8 needs the calibrated range of each of its " +
                      std::to_string(n_values) + " values, got " + std::to_string(value_ranges.size()));
    for (std::size_t i = 0; i < d.ops().size(); ++i) {
      const bool q = is_int8_conv(d.ops()[i]);
      int8_written[i + 1] = q;
      for (const ValueId v : inputs_of(d.ops()[i]))
        (q ? int8_read : float_read)[static_cast<std::size_t>(v)] = true;
    }
    for (const auto& o : d.outputs()) float_read[static_cast<std::size_t>(o.value)] = true;
    const auto non_negative = non_negative_values(d);
    for (std::size_t v = 0; v < n_values; ++v) {
      quant_type[v] = non_negative[v] ? dt::u8 : dt::s8;
      const float levels = non_negative[v] ? 255.f : 127.f;
      quant_scale[v] = value_ranges[v] > 0.f ? value_ranges[v] / levels : 1.f;
      stored_quantized[v] = int8_written[v] && int8_read[v] && !float_read[v];
      if (stored_quantized[v]) types[v] = quant_type[v];
    }
  }
  auto& mds = impl_->buffer_mds;
  for (std::size_t v = 0; v < n_values; ++v) {
    mds.push_back(activation_md(batch_, d.shape(static_cast<ValueId>(v)), types[v]));
    impl_->value_scales.push_back(stored_quantized[v] ? quant_scale[v] : 1.f);
  }
  for (std::size_t v = 0; v < n_values; ++v) {
    if (!int8_read[v] || stored_quantized[v]) continue;
    quantized_copy[v] = static_cast<ValueId>(mds.size());
    mds.push_back(activation_md(batch_, d.shape(static_cast<ValueId>(v)), quant_type[v]));
    impl_->value_scales.push_back(quant_scale[v]);
  }
  // A float value that a layer reads in the other float type (bf16 layers next to one kept in fp32) gets
  // a converted copy, made right after the value is computed. Without layers kept in fp32 there is none.
  std::vector<ValueId> float_copy(n_values, -1);
  for (const auto& op : d.ops()) {
    if (int8 && is_int8_conv(op)) continue;
    for (const ValueId v : inputs_of(op)) {
      const auto vi = static_cast<std::size_t>(v);
      if (types[vi] == op_type(op) || float_copy[vi] >= 0) continue;
      float_copy[vi] = static_cast<ValueId>(mds.size());
      mds.push_back(activation_md(batch_, d.shape(v), op_type(op)));
      impl_->value_scales.push_back(1.f);
    }
  }
  const auto md = [&](ValueId v) { return mds[static_cast<std::size_t>(v)]; };
  // The buffer holding value v in float type `want`: the value itself or its converted copy.
  const auto source = [&](ValueId v, dt want) {
    return types[static_cast<std::size_t>(v)] == want ? v : float_copy[static_cast<std::size_t>(v)];
  };
  const auto add_float_copy = [&](ValueId v) {
    const ValueId copy = float_copy[static_cast<std::size_t>(v)];
    if (copy < 0) return;
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::reorder::primitive_desc pd(eng, md(v), eng, md(copy), attr);
    Step step;
    step.primitive = dnnl::reorder(pd);
    step.implementation = std::string("convert:") + pd.impl_info_str();
    step.scratchpad_bytes = pd.scratchpad_desc().get_size();
    step.value_args = {{DNNL_ARG_FROM, v}, {DNNL_ARG_TO, copy}};
    step.output = copy;
    impl_->scratchpad_bytes = std::max(impl_->scratchpad_bytes, step.scratchpad_bytes);
    impl_->steps.push_back(std::move(step));
  };
  const auto add_quantized_copy = [&](ValueId v) {
    const ValueId copy = quantized_copy[static_cast<std::size_t>(v)];
    if (copy < 0) return;
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    attr.set_output_scales(0, {1.f / quant_scale[static_cast<std::size_t>(v)]});
    dnnl::reorder::primitive_desc pd(eng, md(v), eng, md(copy), attr);
    Step step;
    step.primitive = dnnl::reorder(pd);
    step.implementation = std::string("quantize:") + pd.impl_info_str();
    step.scratchpad_bytes = pd.scratchpad_desc().get_size();
    step.value_args = {{DNNL_ARG_FROM, v}, {DNNL_ARG_TO, copy}};
    step.output = copy;
    impl_->scratchpad_bytes = std::max(impl_->scratchpad_bytes, step.scratchpad_bytes);
    impl_->steps.push_back(std::move(step));
  };
  // oneDNN 2.x computes dst = output_scale * (sum(q_src * q_w) + bias), then the post-ops: the bias is
  // given in accumulator units (divided by the source and weight steps) and the output scale maps one
  // accumulator unit to the destination's (a real value for float, one step for quantized).
  const auto add_int8_conv = [&](Step& step, const Conv& o, ValueId out) {
    const auto in_v = static_cast<std::size_t>(o.input);
    const ValueId src = stored_quantized[in_v] ? o.input : quantized_copy[in_v];
    const float in_scale = quant_scale[in_v];
    const float out_scale =
        stored_quantized[static_cast<std::size_t>(out)] ? quant_scale[static_cast<std::size_t>(out)] : 1.f;
    const Shape& in = d.shape(o.input);
    const memory::dims w_dims{o.out_channels, in.c, o.kernel_h, o.kernel_w};
    const auto weights = quantize_weights(o.weights, o.out_channels);
    std::vector<float> output_scales(weights.scales.size()), bias;
    for (std::size_t c = 0; c < output_scales.size(); ++c)
      output_scales[c] = in_scale * weights.scales[c] / out_scale;
    if (!o.bias.empty()) {
      bias.resize(weights.scales.size());
      for (std::size_t c = 0; c < bias.size(); ++c) bias[c] = o.bias[c] / (in_scale * weights.scales[c]);
    }
    auto attr = make_attr(o.activation, o.leaky_alpha, out_scale);
    attr.set_output_scales(1 << 1, output_scales);  // mask: dimension 1, the output channels
    const memory::desc b_md = bias.empty() ? memory::desc() : memory::desc({o.out_channels}, dt::f32, tag::x);
    dnnl::convolution_forward::desc desc(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, md(src),
        memory::desc(w_dims, dt::s8, tag::any), b_md, md(out), {o.stride, o.stride}, {o.pad.top, o.pad.left},
        {o.pad.bottom, o.pad.right});
    dnnl::convolution_forward::primitive_desc pd(desc, attr, eng);
    step.primitive = dnnl::convolution_forward(pd);
    step.implementation = pd.impl_info_str();
    step.scratchpad_bytes = pd.scratchpad_desc().get_size();
    step.value_args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, out}};
    step.constant_args.push_back(
        {DNNL_ARG_WEIGHTS,
         prepare_weights(weights.values.data(), memory::desc(w_dims, dt::s8, tag::oihw), pd.weights_desc())});
    if (!bias.empty()) step.constant_args.push_back({DNNL_ARG_BIAS, make_bias(bias)});
  };
  try {
    add_quantized_copy(d.input());
    add_float_copy(d.input());
    for (std::size_t i = 0; i < d.ops().size(); ++i) {
      const ValueId out = static_cast<ValueId>(i + 1);
      Step step;
      step.output = out;
      std::visit(
          [&](const auto& o) {
            using T = std::decay_t<decltype(o)>;
            if constexpr (std::is_same_v<T, Conv>) {
              if (int8_written[static_cast<std::size_t>(out)]) {
                add_int8_conv(step, o, out);
                return;
              }
              const Shape& in = d.shape(o.input);
              const dt type = op_type(d.ops()[i]);
              const ValueId src = source(o.input, type);
              const memory::dims strides{o.stride, o.stride};
              const memory::dims pad_l{o.pad.top, o.pad.left}, pad_r{o.pad.bottom, o.pad.right};
              memory::dims w_dims;
              memory::format_tag w_plain;
              if (o.depthwise) {
                w_dims = {in.c, 1, 1, o.kernel_h, o.kernel_w};
                w_plain = tag::goihw;
              } else {
                w_dims = {o.out_channels, in.c, o.kernel_h, o.kernel_w};
                w_plain = tag::oihw;
              }
              const memory::desc w_any(w_dims, type, tag::any);
              const bool has_bias = !o.bias.empty();
              const memory::desc b_md =
                  has_bias ? memory::desc({o.out_channels}, dt::f32, tag::x) : memory::desc();
              dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference,
                                                   dnnl::algorithm::convolution_direct, md(src), w_any, b_md,
                                                   md(out), strides, pad_l, pad_r);
              dnnl::convolution_forward::primitive_desc pd(desc, make_attr(o.activation, o.leaky_alpha), eng);
              step.primitive = dnnl::convolution_forward(pd);
              step.implementation = pd.impl_info_str();
              step.scratchpad_bytes = pd.scratchpad_desc().get_size();
              step.value_args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, out}};
              step.constant_args.push_back(
                  {DNNL_ARG_WEIGHTS, prepare_weights(o.weights.data(), memory::desc(w_dims, dt::f32, w_plain),
                                                     pd.weights_desc())});
              if (has_bias) step.constant_args.push_back({DNNL_ARG_BIAS, make_bias(o.bias)});
            } else if constexpr (std::is_same_v<T, Pool>) {
              const auto alg = o.kind == PoolKind::max ? dnnl::algorithm::pooling_max
                                                       : dnnl::algorithm::pooling_avg_exclude_padding;
              const ValueId src = source(o.input, inner);
              dnnl::pooling_forward::desc desc(dnnl::prop_kind::forward_inference, alg, md(src), md(out),
                                               {o.stride, o.stride}, {o.kernel, o.kernel},
                                               {o.pad.top, o.pad.left}, {o.pad.bottom, o.pad.right});
              dnnl::pooling_forward::primitive_desc pd(desc, make_attr(Activation::none, 0.f), eng);
              step.primitive = dnnl::pooling_forward(pd);
              step.implementation = pd.impl_info_str();
              step.scratchpad_bytes = pd.scratchpad_desc().get_size();
              step.value_args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, out}};
            } else if constexpr (std::is_same_v<T, GlobalAverage>) {
              const Shape& in = d.shape(o.input);
              const ValueId src = source(o.input, inner);
              dnnl::pooling_forward::desc desc(dnnl::prop_kind::forward_inference,
                                               dnnl::algorithm::pooling_avg_exclude_padding, md(src), md(out),
                                               {1, 1}, {in.h, in.w}, {0, 0}, {0, 0});
              dnnl::pooling_forward::primitive_desc pd(desc, make_attr(Activation::none, 0.f), eng);
              step.primitive = dnnl::pooling_forward(pd);
              step.implementation = pd.impl_info_str();
              step.scratchpad_bytes = pd.scratchpad_desc().get_size();
              step.value_args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, out}};
            } else if constexpr (std::is_same_v<T, Add>) {
              const ValueId a = source(o.a, inner), b = source(o.b, inner);
              dnnl::binary::desc desc(dnnl::algorithm::binary_add, md(a), md(b), md(out));
              dnnl::binary::primitive_desc pd(desc, make_attr(o.activation, 0.f), eng);
              step.primitive = dnnl::binary(pd);
              step.implementation = pd.impl_info_str();
              step.scratchpad_bytes = pd.scratchpad_desc().get_size();
              step.value_args = {{DNNL_ARG_SRC_0, a}, {DNNL_ARG_SRC_1, b}, {DNNL_ARG_DST, out}};
            } else if constexpr (std::is_same_v<T, ZeroPad>) {
              const Shape& in = d.shape(o.input);
              const ValueId src = source(o.input, inner);
              const memory::desc sub =
                  md(out).submemory_desc({batch_, in.c, in.h, in.w}, {0, 0, o.spatial.top, o.spatial.left});
              dnnl::reorder::primitive_desc pd(eng, md(src), eng, sub);
              step.primitive = dnnl::reorder(pd);
              step.implementation = pd.impl_info_str();
              step.value_args = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, out}};
              step.writes_subregion = true;
              step.subregion_md = sub;
            } else {  // Dense
              const Shape& in = d.shape(o.input);
              if (in.h != 1 || in.w != 1)
                throw Error(ErrorCode::model_error, "dense layer on a spatial input");
              const ValueId from = source(o.input, inner);
              const memory::desc src({batch_, in.c}, md(from).data_type(), tag::nc);
              const memory::desc dst({batch_, o.out_features}, types[static_cast<std::size_t>(out)], tag::nc);
              const memory::desc w_any({o.out_features, in.c}, inner, tag::any);
              const bool has_bias = !o.bias.empty();
              const memory::desc b_md =
                  has_bias ? memory::desc({o.out_features}, dt::f32, tag::x) : memory::desc();
              dnnl::inner_product_forward::desc desc(dnnl::prop_kind::forward_inference, src, w_any, b_md,
                                                     dst);
              dnnl::inner_product_forward::primitive_desc pd(desc, make_attr(Activation::none, 0.f), eng);
              step.primitive = dnnl::inner_product_forward(pd);
              step.implementation = pd.impl_info_str();
              step.scratchpad_bytes = pd.scratchpad_desc().get_size();
              step.value_args = {{DNNL_ARG_SRC, from}, {DNNL_ARG_DST, out}};
              step.constant_args.push_back(
                  {DNNL_ARG_WEIGHTS,
                   prepare_weights(o.weights.data(), memory::desc({o.out_features, in.c}, dt::f32, tag::oi),
                                   pd.weights_desc())});
              if (has_bias) step.constant_args.push_back({DNNL_ARG_BIAS, make_bias(o.bias)});
            }
          },
          d.ops()[i]);
      impl_->scratchpad_bytes = std::max(impl_->scratchpad_bytes, step.scratchpad_bytes);
      impl_->steps.push_back(std::move(step));
      add_quantized_copy(out);
      add_float_copy(out);
    }
    if (types[static_cast<std::size_t>(d.input())] != dt::f32) {
      const memory::desc in_md = md(d.input());
      impl_->input_reorder = dnnl::reorder(
          dnnl::reorder::primitive_desc(eng, activation_md(batch_, d.shape(d.input())), eng, in_md));
    }
    for (const auto& o : d.outputs()) {
      if (types[static_cast<std::size_t>(o.value)] == dt::f32) {
        impl_->output_reorders.emplace_back();
      } else {
        impl_->output_reorders.emplace_back(dnnl::reorder(
            dnnl::reorder::primitive_desc(eng, md(o.value), eng, activation_md(batch_, d.shape(o.value)))));
      }
    }
  } catch (const dnnl::error& e) {
    throw Error(ErrorCode::model_error, "net " + d.name() + ": oneDNN rejected a layer: " + e.what());
  }
}

std::vector<std::string> CompiledNet::implementations() const {
  std::vector<std::string> names;
  for (const auto& s : impl_->steps) names.push_back(s.implementation);
  return names;
}

struct NetRunner::State {
  dnnl::stream stream{cpu_engine()};
  std::vector<memory> values;
  memory scratchpad;
  std::vector<std::unordered_map<int, memory>> step_args;  // bound once: the buffers never move
  memory input_f32;                                        // bf16 nets: where the caller's input is staged
  std::vector<memory> outputs_f32;  // bf16 nets: fp32 copies of bf16 outputs (else empty memory)
  std::unordered_map<ValueId, memory> debug_f32;  // value() conversions of bf16 values
};

NetRunner::~NetRunner() = default;

NetRunner::NetRunner(std::shared_ptr<const CompiledNet> net)
    : net_(std::move(net)), state_(std::make_unique<State>()) {
  auto& eng = cpu_engine();
  const auto& d = net_->description();
  for (const auto& buffer_md : net_->impl().buffer_mds) {
    memory m(buffer_md, eng);
    // Zero everything once: ZeroPad outputs rely on the cells they never write staying zero.
    std::memset(m.get_data_handle(), 0, m.get_desc().get_size());
    state_->values.push_back(std::move(m));
  }
  state_->scratchpad =
      memory(memory::desc({static_cast<memory::dim>(net_->impl().scratchpad_bytes)}, dt::u8, tag::x), eng);
  for (const auto& step : net_->impl().steps) {
    std::unordered_map<int, memory> args;
    for (const auto& [arg, value] : step.value_args)
      args.emplace(arg, state_->values[static_cast<std::size_t>(value)]);
    for (const auto& [arg, mem] : step.constant_args) args.emplace(arg, mem);
    if (step.writes_subregion) {
      args[DNNL_ARG_TO] = memory(step.subregion_md, eng,
                                 state_->values[static_cast<std::size_t>(step.output)].get_data_handle());
    } else {
      args.emplace(DNNL_ARG_SCRATCHPAD, state_->scratchpad);
    }
    state_->step_args.push_back(std::move(args));
  }
  if (net_->impl().input_reorder)
    state_->input_f32 = memory(activation_md(net_->batch(), d.shape(d.input())), eng);
  for (std::size_t i = 0; i < d.outputs().size(); ++i) {
    state_->outputs_f32.push_back(
        net_->impl().output_reorders[i]
            ? memory(activation_md(net_->batch(), d.shape(d.outputs()[i].value)), eng)
            : memory());
  }
}

std::span<float> NetRunner::input() {
  auto& in = net_->impl().input_reorder ? state_->input_f32 : state_->values[0];
  return {static_cast<float*>(in.get_data_handle()), in.get_desc().get_size() / sizeof(float)};
}

void NetRunner::run(std::span<const float> input) {
  const auto buffer = this->input();
  if (input.size() != buffer.size())
    throw Error(ErrorCode::internal, "net " + net_->description().name() + ": input has the wrong size");
  std::copy(input.begin(), input.end(), buffer.begin());
  run();
}

void NetRunner::run() {
  const auto& impl = net_->impl();
  if (threads_for_this_thread() != net_->threads())
    throw Error(ErrorCode::internal, "net " + net_->description().name() + " was compiled for " +
                                         std::to_string(net_->threads()) + " threads and runs where " +
                                         std::to_string(threads_for_this_thread()) + " are set");
  auto& in = impl.input_reorder ? state_->input_f32 : state_->values[0];
  state_->debug_f32.clear();
  try {
    auto& stream = state_->stream;
    if (impl.input_reorder) impl.input_reorder->execute(stream, in, state_->values[0]);
    const auto& steps = impl.steps;
    for (std::size_t i = 0; i < steps.size(); ++i) steps[i].primitive.execute(stream, state_->step_args[i]);
    const auto& outputs = net_->description().outputs();
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      if (impl.output_reorders[i])
        impl.output_reorders[i]->execute(stream, state_->values[static_cast<std::size_t>(outputs[i].value)],
                                         state_->outputs_f32[i]);
    }
    stream.wait();
  } catch (const dnnl::error& e) {
    throw Error(ErrorCode::internal, "net " + net_->description().name() + ": oneDNN failed: " + e.what());
  }
}

namespace {
std::span<const float> as_floats(const memory& m) {
  return {static_cast<const float*>(m.get_data_handle()), m.get_desc().get_size() / sizeof(float)};
}
}  // namespace

std::span<const float> NetRunner::value(ValueId id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= net_->description().value_count())
    throw Error(ErrorCode::internal,
                "net " + net_->description().name() + " has no value " + std::to_string(id));
  const auto& m = state_->values[static_cast<std::size_t>(id)];
  if (m.get_desc().data_type() == dt::f32) return as_floats(m);
  auto& copy = state_->debug_f32[id];
  if (!copy) {
    copy = memory(activation_md(net_->batch(), net_->description().shape(id)), cpu_engine());
    memory source = m;  // a handle copy: execute() wants a non-const memory
    dnnl::primitive_attr attr;
    attr.set_output_scales(0, {net_->impl().value_scales[static_cast<std::size_t>(id)]});
    dnnl::reorder(
        dnnl::reorder::primitive_desc(cpu_engine(), source.get_desc(), cpu_engine(), copy.get_desc(), attr))
        .execute(state_->stream, source, copy);
    state_->stream.wait();
  }
  return as_floats(copy);
}

void update_value_ranges(const NetRunner& runner, std::vector<float>& ranges) {
  const std::size_t n = runner.net().description().value_count();
  if (ranges.empty()) ranges.assign(n, 0.f);
  if (ranges.size() != n)
    throw Error(ErrorCode::internal, "net " + runner.net().description().name() + " has " +
                                         std::to_string(n) + " values, the ranges " +
                                         std::to_string(ranges.size()));
  for (std::size_t v = 0; v < n; ++v)
    for (const float x : runner.value(static_cast<ValueId>(v))) ranges[v] = std::max(ranges[v], std::fabs(x));
}

std::span<const float> NetRunner::output(std::size_t i) const {
  const auto& converted = state_->outputs_f32.at(i);
  if (converted) return as_floats(converted);
  return value(net_->description().outputs().at(i).value);
}

}  // namespace facematch::engine
