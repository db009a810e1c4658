// Convolution kernels for TensorFlow.js tensors (NHWC activations, [kh, kw, in, out] filters), in native
// code on all cores. workers/ml/kernels/native.ts registers them on the wasm backend in place of its own.
#pragma once

namespace crackdiff {

struct ConvShape {
  int batch, inH, inW, inC;     // x
  int outH, outW, outC;         // y
  int kH, kW;                   // filter
  int strideH, strideW;
  int padTop, padLeft;          // implicit zero padding before the first row / column
};

// What a convolution adds to each output y[p, :] as it stores it, after its bias and ReLU: a tensor of y's
// shape (residual), or a 1×1 convolution of a tensor on y's pixel grid, source[p, :]·W + bias (a ResBlock's
// skip path, whose output then never goes through memory), or nothing.
struct Addend {
  const float* residual = nullptr;
  const float* source = nullptr;   // pixels × sourceC
  int sourceC = 0;
  const float* weights = nullptr;  // sourceC × outC (a [1, 1, sourceC, outC] filter); outC × sourceC when transposed
  bool transposed = false;
  const float* bias = nullptr;     // outC values, or null
};

// y = conv(x, w) (+ bias) (ReLU'd when relu).
void conv2d(const ConvShape& s, const float* x, const float* w, const float* bias, bool relu, float* y);
// y = ReLU?(conv(x, w) + bias[b]) + addend: bias one row of outC per image when biasPerImage (a UNet's bias
// plus its per-image time embedding), else shared. The additions a ResBlock would otherwise make as
// separate passes over y, in the store of each output.
void conv2d(const ConvShape& s, const float* x, const float* w, const float* bias, bool biasPerImage, bool relu,
            const Addend& add, float* y);
// dw = ∂(Σ y·dy)/∂w, and where db is not null the shared bias's gradient db = Σ over pixels of dy, summed
// as dy is read for dw rather than in a pass of its own.
void conv2dBackpropFilter(const ConvShape& s, const float* x, const float* dy, float* dw, float* db = nullptr);
// dx = ∂(Σ y·dy)/∂x + addend: the gradient x gets from another use (a ResBlock's skip: x itself, or its
// 1×1 convolution), added as dx is stored rather than in a pass of its own.
void conv2dBackpropInput(const ConvShape& s, const float* dy, const float* w, float* dx, const Addend& add = {});

// The vector instruction set the kernels were compiled for: "avx512", "avx2" or "generic".
const char* compiledIsa();
void setThreads(int n);
int threads();

}  // namespace crackdiff
