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
// dw = ∂(Σ y·dy)/∂w.
void conv2dBackpropFilter(const ConvShape& s, const float* x, const float* dy, float* dw);
// dx = ∂(Σ y·dy)/∂x.
void conv2dBackpropInput(const ConvShape& s, const float* dy, const float* w, float* dx);

// The vector instruction set the kernels were compiled for: "avx512", "avx2" or "generic".
const char* compiledIsa();
void setThreads(int n);
int threads();

}  // namespace crackdiff
