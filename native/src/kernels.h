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

// y = conv(x, w) (+ bias) (ReLU'd when relu).
void conv2d(const ConvShape& s, const float* x, const float* w, const float* bias, bool relu, float* y);
// y = ReLU?(conv(x, w) + bias[b]) + residual: bias one row of outC per image when biasPerImage (a UNet's
// bias plus its per-image time embedding), else shared; residual (y's shape) added last, or null. The
// additions a ResBlock would otherwise make as separate passes over y, in the store of each output.
void conv2d(const ConvShape& s, const float* x, const float* w, const float* bias, bool biasPerImage, bool relu,
            const float* residual, float* y);
// dw = ∂(Σ y·dy)/∂w, and where db is not null the shared bias's gradient db = Σ over pixels of dy, summed
// as dy is read for dw rather than in a pass of its own.
void conv2dBackpropFilter(const ConvShape& s, const float* x, const float* dy, float* dw, float* db = nullptr);
// dx = ∂(Σ y·dy)/∂x, plus residual (x's shape) where not null: the gradient x gets from another use (a
// ResBlock's skip), added as dx is stored rather than in a pass of its own.
void conv2dBackpropInput(const ConvShape& s, const float* dy, const float* w, float* dx, const float* residual = nullptr);

// The vector instruction set the kernels were compiled for: "avx512", "avx2" or "generic".
const char* compiledIsa();
void setThreads(int n);
int threads();

}  // namespace crackdiff
