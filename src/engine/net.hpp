// A net described as data: a short list of operations on NHWC float tensors, built once from the
// loaded weights by a model builder (src/models/) and executed by the oneDNN executor
// (executor.hpp). The description knows nothing about oneDNN; the executor knows nothing about faces.
#pragma once

#include <string>
#include <variant>
#include <vector>

namespace facematch::engine {

// Logical NHWC shape of a value (batch is fixed when the net is compiled, so it is not stored).
struct Shape {
  int h = 0, w = 0, c = 0;
  bool operator==(const Shape&) const = default;
};

enum class Activation { none, relu, relu6, leaky };

struct Padding {
  int top = 0, left = 0, bottom = 0, right = 0;
};

using ValueId = int;

// Weights in OIHW order (depthwise: [channels, 1, kh, kw]). Per-channel affine layers that follow a
// convolution (batch norm, face-api's "scale" layers) are folded into weights and bias by the builder.
struct Conv {
  ValueId input;
  int out_channels, kernel_h, kernel_w;
  int stride = 1;
  Padding pad;
  bool depthwise = false;
  std::vector<float> weights;
  std::vector<float> bias;  // empty: no bias
  Activation activation = Activation::none;
  float leaky_alpha = 0.f;
  // DataType::int8 runs this layer in float: quantizing it costs more accuracy than it saves time.
  bool float_in_int8 = false;
  // Every DataType runs this layer in fp32 (input, weights and output): rounding it to bf16 or int8
  // moves the net's outputs more than its accuracy gate allows, while the rest of the net may round.
  bool keep_fp32 = false;
};

enum class PoolKind { max, average };
struct Pool {
  ValueId input;
  PoolKind kind;
  int kernel, stride;
  Padding pad;  // max pooling ignores padded cells, as TensorFlow's SAME does
};

// a + b, then the activation.
struct Add {
  ValueId a, b;
  Activation activation = Activation::none;
};

// Zero padding: rows/columns around the image and channels appended after the existing ones.
struct ZeroPad {
  ValueId input;
  Padding spatial;
  int extra_channels = 0;
};

// Mean over H and W: [H, W, C] -> [1, 1, C].
struct GlobalAverage {
  ValueId input;
};

// x[1,1,in] * W -> [1,1,out]; weights stored [out][in].
struct Dense {
  ValueId input;
  int out_features;
  std::vector<float> weights;
  std::vector<float> bias;  // empty: no bias
};

using Op = std::variant<Conv, Pool, Add, ZeroPad, GlobalAverage, Dense>;

// Builder and container. Shapes are inferred as ops are added, so a wrong weight size or an
// impossible geometry fails while the model loads, not at the first inference.
class NetDescription {
 public:
  explicit NetDescription(std::string name, Shape input);

  ValueId input() const { return 0; }
  ValueId add(Op op);
  void mark_output(ValueId value, std::string name);

  const std::string& name() const { return name_; }
  const std::vector<Op>& ops() const { return ops_; }
  const Shape& shape(ValueId value) const { return shapes_.at(static_cast<std::size_t>(value)); }
  std::size_t value_count() const { return shapes_.size(); }
  struct Output {
    ValueId value;
    std::string name;
  };
  const std::vector<Output>& outputs() const { return outputs_; }
  double flops_per_item() const { return flops_; }

 private:
  std::string name_;
  std::vector<Op> ops_;        // op i produces value i + 1
  std::vector<Shape> shapes_;  // value 0 is the input
  std::vector<Output> outputs_;
  double flops_ = 0;
};

// Output size of a convolution/pooling window along one axis; throws if it is not positive.
int window_output(int in, int kernel, int stride, int pad_before, int pad_after);

// TensorFlow 'SAME' padding for one axis: the odd cell goes after (bottom/right).
std::pair<int, int> tf_same_padding(int in, int kernel, int stride);

}  // namespace facematch::engine
