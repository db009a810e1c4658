// Node-API surface of the kernels. Arguments are views (Float32Array) of the wasm backend's heap, so
// nothing is copied; shapes come as one Int32Array, in the field order of the kernel's shape struct.
#include <node_api.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels.h"
#include "layout.h"
#include "norm.h"

namespace {

// Whether this CPU has the instruction sets the kernels were compiled for (binding.gyp builds them for the
// CPU of the machine that ran npm install; this file for any x86-64). False keeps them unused.
bool cpuSupported() {
#if defined(__x86_64__) && defined(__GNUC__)
  const std::string isa = crackdiff::compiledIsa();
  if (isa == "avx512") {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }
  if (isa == "avx2") return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return true;
}

bool fail(napi_env env, const char* message) {
  napi_throw_type_error(env, nullptr, message);
  return false;
}

// The data of a typed array argument of the given type, or nullptr for null/undefined when optional.
template <class T>
bool typedArray(napi_env env, napi_value value, napi_typedarray_type want, T** out, bool optional = false,
                size_t* length = nullptr) {
  napi_valuetype kind;
  napi_typeof(env, value, &kind);
  if (optional && (kind == napi_null || kind == napi_undefined)) {
    *out = nullptr;
    return true;
  }
  bool is = false;
  napi_is_typedarray(env, value, &is);
  if (!is) return fail(env, "expected a typed array");
  napi_typedarray_type type;
  void* data = nullptr;
  size_t size = 0;
  napi_get_typedarray_info(env, value, &type, &size, &data, nullptr, nullptr);
  if (type != want) return fail(env, "typed array of the wrong element type");
  *out = static_cast<T*>(data);
  if (length) *length = size;
  return true;
}

bool shapeArg(napi_env env, napi_value value, crackdiff::ConvShape* shape) {
  int32_t* p = nullptr;
  if (!typedArray(env, value, napi_int32_array, &p)) return false;
  *shape = {p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12]};
  return true;
}

template <size_t N>
bool args(napi_env env, napi_callback_info info, napi_value (&argv)[N]) {
  size_t argc = N;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  return argc == N || fail(env, "wrong number of arguments");
}

// conv2d(shape, x, w, bias | null, relu, y)
napi_value Conv2d(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  crackdiff::ConvShape s;
  float *x, *w, *bias, *y;
  bool relu = false;
  if (!args(env, info, argv) || !shapeArg(env, argv[0], &s) || !typedArray(env, argv[1], napi_float32_array, &x) ||
      !typedArray(env, argv[2], napi_float32_array, &w) ||
      !typedArray(env, argv[3], napi_float32_array, &bias, true) ||
      napi_get_value_bool(env, argv[4], &relu) != napi_ok || !typedArray(env, argv[5], napi_float32_array, &y)) {
    return nullptr;
  }
  crackdiff::conv2d(s, x, w, bias, relu, y);
  return nullptr;
}

// A convolution's addend from (residual | null, skipSource | null, skipWeights | null, skipBias | null): the
// skip path's 1×1 filter is [1, 1, sourceC, channels] (its transpose when transposed), so sourceC follows
// from its length and the channels of the output being computed.
bool addendArgs(napi_env env, const napi_value* argv, int channels, bool transposed, bool withBias,
                crackdiff::Addend* add) {
  float *residual, *source, *weights, *bias = nullptr;
  size_t length = 0;
  if (!typedArray(env, argv[0], napi_float32_array, &residual, true) ||
      !typedArray(env, argv[1], napi_float32_array, &source, true) ||
      !typedArray(env, argv[2], napi_float32_array, &weights, true, &length) ||
      (withBias && !typedArray(env, argv[3], napi_float32_array, &bias, true))) {
    return false;
  }
  if ((source == nullptr) != (weights == nullptr)) return fail(env, "a skip source needs its weights");
  if (weights && (length == 0 || length % channels != 0)) return fail(env, "skip weights: not a [1, 1, C, channels] filter");
  *add = {residual, source, static_cast<int>(length) / channels, weights, transposed, bias};
  return true;
}

// conv2dFused(shape, x, w, bias | null, biasPerImage, relu, residual | null, y, skipX | null, skipW | null,
// skipBias | null): y = ReLU?(conv(x, w) + bias) + (residual, or skipX's 1×1 convolution by skipW + skipBias).
napi_value Conv2dFused(napi_env env, napi_callback_info info) {
  napi_value argv[11];
  crackdiff::ConvShape s;
  float *x, *w, *bias, *y;
  bool perImage = false, relu = false;
  crackdiff::Addend add;
  if (!args(env, info, argv) || !shapeArg(env, argv[0], &s) || !typedArray(env, argv[1], napi_float32_array, &x) ||
      !typedArray(env, argv[2], napi_float32_array, &w) ||
      !typedArray(env, argv[3], napi_float32_array, &bias, true) ||
      napi_get_value_bool(env, argv[4], &perImage) != napi_ok || napi_get_value_bool(env, argv[5], &relu) != napi_ok ||
      !typedArray(env, argv[7], napi_float32_array, &y)) {
    return nullptr;
  }
  const napi_value addend[] = {argv[6], argv[8], argv[9], argv[10]};
  if (!addendArgs(env, addend, s.outC, false, true, &add)) return nullptr;
  crackdiff::conv2d(s, x, w, bias, perImage, relu, add, y);
  return nullptr;
}

// conv2dBackpropInput(shape, dy, w, dx, residual | null, skipDy | null, skipW | null): dx plus residual, or
// plus the skip path's input gradient (skipDy by the transposed [1, 1, inC, skipC] filter skipW).
napi_value Conv2dBackpropInput(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  crackdiff::ConvShape s;
  float *dy, *w, *dx;
  crackdiff::Addend add;
  if (!args(env, info, argv) || !shapeArg(env, argv[0], &s) || !typedArray(env, argv[1], napi_float32_array, &dy) ||
      !typedArray(env, argv[2], napi_float32_array, &w) || !typedArray(env, argv[3], napi_float32_array, &dx) ||
      !addendArgs(env, argv + 4, s.inC, true, false, &add)) {
    return nullptr;
  }
  crackdiff::conv2dBackpropInput(s, dy, w, dx, add);
  return nullptr;
}

// conv2dBackpropFilter(shape, x, dy, dw, db | null).
napi_value Conv2dBackpropFilter(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  crackdiff::ConvShape s;
  float *x, *dy, *dw, *db;
  if (!args(env, info, argv) || !shapeArg(env, argv[0], &s) || !typedArray(env, argv[1], napi_float32_array, &x) ||
      !typedArray(env, argv[2], napi_float32_array, &dy) || !typedArray(env, argv[3], napi_float32_array, &dw) ||
      !typedArray(env, argv[4], napi_float32_array, &db, true)) {
    return nullptr;
  }
  crackdiff::conv2dBackpropFilter(s, x, dy, dw, db);
  return nullptr;
}

// maxPoolGrad(shape, x, dy, dx), shape in PoolShape's field order.
napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t* p = nullptr;
  float *x, *dy, *dx;
  if (!args(env, info, argv) || !typedArray(env, argv[0], napi_int32_array, &p) ||
      !typedArray(env, argv[1], napi_float32_array, &x) || !typedArray(env, argv[2], napi_float32_array, &dy) ||
      !typedArray(env, argv[3], napi_float32_array, &dx)) {
    return nullptr;
  }
  const crackdiff::PoolShape s{p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11]};
  crackdiff::maxPoolGrad(s, x, dy, dx);
  return nullptr;
}

void resizeForward(const crackdiff::ResizeShape& s, const int* rows, const int* cols, const float* x, float* y,
                   float* skip) {
  crackdiff::resizeNearestNeighbor(s, rows, cols, x, skip, y);
}

// resizeNearestNeighbor(shape, sourceRow, sourceCol, x, y, skip | null) and resizeNearestNeighborGrad(shape,
// sourceRow, sourceCol, dy, dx, dskip | null), shape in ResizeShape's field order.
template <void (*resize)(const crackdiff::ResizeShape&, const int*, const int*, const float*, float*, float*)>
napi_value Resize(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  int32_t *p = nullptr, *sourceRow = nullptr, *sourceCol = nullptr;
  float *from, *to, *skip;
  if (!args(env, info, argv) || !typedArray(env, argv[0], napi_int32_array, &p) ||
      !typedArray(env, argv[1], napi_int32_array, &sourceRow) ||
      !typedArray(env, argv[2], napi_int32_array, &sourceCol) ||
      !typedArray(env, argv[3], napi_float32_array, &from) || !typedArray(env, argv[4], napi_float32_array, &to) ||
      !typedArray(env, argv[5], napi_float32_array, &skip, true)) {
    return nullptr;
  }
  const crackdiff::ResizeShape s{p[0], p[1], p[2], p[3], p[4], p[5], p[6]};
  if ((s.skipChannels > 0) != (skip != nullptr)) {
    fail(env, "a skip tensor goes with skip channels > 0, and only with them");
    return nullptr;
  }
  // The indices come from JavaScript; one out of range would read or write outside the tensors.
  for (int r = 0; r < s.outH; r++) {
    if (sourceRow[r] < 0 || sourceRow[r] >= s.inH) {
      fail(env, "source row out of range");
      return nullptr;
    }
  }
  for (int c = 0; c < s.outW; c++) {
    if (sourceCol[c] < 0 || sourceCol[c] >= s.inW) {
      fail(env, "source column out of range");
      return nullptr;
    }
  }
  resize(s, sourceRow, sourceCol, from, to, skip);
  return nullptr;
}

// The data of every Float32Array in a JavaScript array.
bool float32Arrays(napi_env env, napi_value value, std::vector<float*>* out) {
  bool isArray = false;
  napi_is_array(env, value, &isArray);
  if (!isArray) return fail(env, "expected an array of typed arrays");
  uint32_t length = 0;
  napi_get_array_length(env, value, &length);
  out->resize(length);
  for (uint32_t i = 0; i < length; i++) {
    napi_value element;
    napi_get_element(env, value, i, &element);
    if (!typedArray(env, element, napi_float32_array, &(*out)[i])) return false;
  }
  return true;
}

// The row count and per-piece row lengths shared by concat and splitV; one length per piece.
bool pieces(napi_env env, napi_value outerArg, napi_value lengthsArg, size_t count, int32_t* outer,
            int32_t** lengths) {
  if (napi_get_value_int32(env, outerArg, outer) != napi_ok) return fail(env, "expected a row count");
  if (!typedArray(env, lengthsArg, napi_int32_array, lengths)) return false;
  size_t given = 0;
  napi_get_typedarray_info(env, lengthsArg, nullptr, &given, nullptr, nullptr, nullptr);
  return given == count || fail(env, "one row length per piece expected");
}

// concat(outer, lengths, inputs, out)
napi_value Concat(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  std::vector<float*> inputs;
  int32_t outer = 0;
  int32_t* lengths = nullptr;
  float* out;
  if (!args(env, info, argv) || !float32Arrays(env, argv[2], &inputs) ||
      !pieces(env, argv[0], argv[1], inputs.size(), &outer, &lengths) ||
      !typedArray(env, argv[3], napi_float32_array, &out)) {
    return nullptr;
  }
  crackdiff::concat(outer, static_cast<int>(inputs.size()), lengths, inputs.data(), out);
  return nullptr;
}

// splitV(outer, lengths, x, outputs)
napi_value SplitV(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  std::vector<float*> outputs;
  int32_t outer = 0;
  int32_t* lengths = nullptr;
  float* x;
  if (!args(env, info, argv) || !float32Arrays(env, argv[3], &outputs) ||
      !pieces(env, argv[0], argv[1], outputs.size(), &outer, &lengths) ||
      !typedArray(env, argv[2], napi_float32_array, &x)) {
    return nullptr;
  }
  crackdiff::splitV(outer, static_cast<int>(outputs.size()), lengths, x, outputs.data());
  return nullptr;
}

// addOrMultiply(multiply, n, period, big, small, out)
napi_value AddOrMultiply(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  bool multiply = false;
  int32_t n = 0, period = 0;
  float *big, *small, *out;
  if (!args(env, info, argv) || napi_get_value_bool(env, argv[0], &multiply) != napi_ok ||
      napi_get_value_int32(env, argv[1], &n) != napi_ok || napi_get_value_int32(env, argv[2], &period) != napi_ok ||
      !typedArray(env, argv[3], napi_float32_array, &big) || !typedArray(env, argv[4], napi_float32_array, &small) ||
      !typedArray(env, argv[5], napi_float32_array, &out)) {
    return nullptr;
  }
  if (period < 1 || n % period != 0) {
    fail(env, "the repeated block must divide the output");
    return nullptr;
  }
  crackdiff::addOrMultiply(multiply, n, period, big, small, out);
  return nullptr;
}

// sumLeadingAxes(rows, cols, x, out) and sumTrailingAxes(rows, cols, x, out).
template <void (*sum)(int, int, const float*, float*)>
napi_value Sum(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t rows = 0, cols = 0;
  float *x, *out;
  if (!args(env, info, argv) || napi_get_value_int32(env, argv[0], &rows) != napi_ok ||
      napi_get_value_int32(env, argv[1], &cols) != napi_ok || !typedArray(env, argv[2], napi_float32_array, &x) ||
      !typedArray(env, argv[3], napi_float32_array, &out)) {
    return nullptr;
  }
  sum(rows, cols, x, out);
  return nullptr;
}

// matMul(shape, a, b, bias | null, relu, out), shape [batch, M, N, K, transposeA, transposeB, aStride, bStride].
napi_value MatMul(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  int32_t* p = nullptr;
  float *a, *b, *bias, *out;
  bool relu = false;
  if (!args(env, info, argv) || !typedArray(env, argv[0], napi_int32_array, &p) ||
      !typedArray(env, argv[1], napi_float32_array, &a) || !typedArray(env, argv[2], napi_float32_array, &b) ||
      !typedArray(env, argv[3], napi_float32_array, &bias, true) || napi_get_value_bool(env, argv[4], &relu) != napi_ok ||
      !typedArray(env, argv[5], napi_float32_array, &out)) {
    return nullptr;
  }
  const crackdiff::MatMulShape s{p[0], p[1], p[2], p[3], p[4] != 0, p[5] != 0, p[6], p[7]};
  crackdiff::matMul(s, a, b, bias, relu, out);
  return nullptr;
}

// relu(x, y), of one length.
napi_value Relu(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  float *x, *y;
  if (!args(env, info, argv) || !typedArray(env, argv[0], napi_float32_array, &x) ||
      !typedArray(env, argv[1], napi_float32_array, &y)) {
    return nullptr;
  }
  size_t lengths[2];
  for (int i = 0; i < 2; i++) napi_get_typedarray_info(env, argv[i], nullptr, &lengths[i], nullptr, nullptr, nullptr);
  if (lengths[1] != lengths[0]) {
    fail(env, "relu: two arrays of one length expected");
    return nullptr;
  }
  crackdiff::relu(static_cast<std::ptrdiff_t>(lengths[0]), x, y);
  return nullptr;
}

// reluGrad(x, dy, dx), all of one length.
napi_value ReluGrad(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  float *x, *dy, *dx;
  if (!args(env, info, argv) || !typedArray(env, argv[0], napi_float32_array, &x) ||
      !typedArray(env, argv[1], napi_float32_array, &dy) || !typedArray(env, argv[2], napi_float32_array, &dx)) {
    return nullptr;
  }
  size_t lengths[3];
  for (int i = 0; i < 3; i++) napi_get_typedarray_info(env, argv[i], nullptr, &lengths[i], nullptr, nullptr, nullptr);
  if (lengths[1] != lengths[0] || lengths[2] != lengths[0]) {
    fail(env, "reluGrad: three arrays of one length expected");
    return nullptr;
  }
  crackdiff::reluGrad(static_cast<std::ptrdiff_t>(lengths[0]), x, dy, dx);
  return nullptr;
}

// lineMeans(size, length, dx, dy, map, out): dx and dy 8 · length offsets, map and out size² values.
napi_value LineMeans(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  int32_t size = 0, length = 0;
  int32_t *dx, *dy;
  float *map, *out;
  if (!args(env, info, argv) || napi_get_value_int32(env, argv[0], &size) != napi_ok ||
      napi_get_value_int32(env, argv[1], &length) != napi_ok || !typedArray(env, argv[2], napi_int32_array, &dx) ||
      !typedArray(env, argv[3], napi_int32_array, &dy) || !typedArray(env, argv[4], napi_float32_array, &map) ||
      !typedArray(env, argv[5], napi_float32_array, &out)) {
    return nullptr;
  }
  size_t lengths[4];
  for (int i = 0; i < 4; i++) napi_get_typedarray_info(env, argv[i + 2], nullptr, &lengths[i], nullptr, nullptr, nullptr);
  const size_t offsets = 8 * static_cast<size_t>(std::max(length, 0)), pixels = static_cast<size_t>(size) * std::max(size, 0);
  if (size < 1 || length < 1 || lengths[0] != offsets || lengths[1] != offsets || lengths[2] != pixels || lengths[3] != pixels) {
    fail(env, "lineMeans: 8 · length offsets each way and size² values in and out expected");
    return nullptr;
  }
  crackdiff::lineMeans(size, length, dx, dy, map, out);
  return nullptr;
}

// ema(a, b, d, e, out), arrays of one length.
napi_value Ema(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  float *a, *b, *out;
  double d = 0, e = 0;
  if (!args(env, info, argv) || !typedArray(env, argv[0], napi_float32_array, &a) ||
      !typedArray(env, argv[1], napi_float32_array, &b) || napi_get_value_double(env, argv[2], &d) != napi_ok ||
      napi_get_value_double(env, argv[3], &e) != napi_ok || !typedArray(env, argv[4], napi_float32_array, &out)) {
    return nullptr;
  }
  size_t lengths[3];
  for (int i : {0, 1, 4}) {
    napi_get_typedarray_info(env, argv[i], nullptr, &lengths[i == 4 ? 2 : i], nullptr, nullptr, nullptr);
  }
  if (lengths[1] != lengths[0] || lengths[2] != lengths[0]) {
    fail(env, "ema: three arrays of one length expected");
    return nullptr;
  }
  crackdiff::ema(static_cast<std::ptrdiff_t>(lengths[0]), a, b, static_cast<float>(d), static_cast<float>(e), out);
  return nullptr;
}

// sumOfSquares(x) → number
napi_value SumOfSquares(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  float* x;
  if (!args(env, info, argv) || !typedArray(env, argv[0], napi_float32_array, &x)) return nullptr;
  size_t length = 0;
  napi_get_typedarray_info(env, argv[0], nullptr, &length, nullptr, nullptr, nullptr);
  napi_value result;
  napi_create_double(env, crackdiff::sumOfSquares(static_cast<std::ptrdiff_t>(length), x), &result);
  return result;
}

// The float count of a typed array argument (0 for null/undefined).
size_t arrayLength(napi_env env, napi_value value) {
  size_t length = 0;
  bool is = false;
  napi_is_typedarray(env, value, &is);
  if (is) napi_get_typedarray_info(env, value, nullptr, &length, nullptr, nullptr, nullptr);
  return length;
}

// adam(scalars, ws, ms, vs, gs, wOuts): scalars in AdamScalars' field order, then one array per tensor in
// each list; the moments are updated in place.
napi_value Adam(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  float* k;
  std::vector<float*> lists[5];
  if (!args(env, info, argv) || !typedArray(env, argv[0], napi_float32_array, &k)) return nullptr;
  for (int l = 0; l < 5; l++)
    if (!float32Arrays(env, argv[l + 1], &lists[l])) return nullptr;
  const size_t count = lists[0].size();
  std::vector<std::ptrdiff_t> lengths(count);
  bool same = arrayLength(env, argv[0]) == 9;
  for (int l = 1; l < 5; l++) same = same && lists[l].size() == count;
  for (size_t i = 0; same && i < count; i++) {
    size_t length[5];
    for (int l = 0; l < 5; l++) {
      napi_value element;
      napi_get_element(env, argv[l + 1], static_cast<uint32_t>(i), &element);
      length[l] = arrayLength(env, element);
    }
    same = length[1] == length[0] && length[2] == length[0] && length[3] == length[0] && length[4] == length[0];
    lengths[i] = static_cast<std::ptrdiff_t>(length[0]);
  }
  if (!same) {
    fail(env, "adam: 9 scalars and five lists of arrays, the i-th of each of one length, expected");
    return nullptr;
  }
  const crackdiff::AdamScalars s{k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7], k[8]};
  crackdiff::adam(static_cast<int>(count), lengths.data(), s, lists[0].data(), lists[1].data(), lists[2].data(),
                  lists[3].data(), lists[4].data());
  return nullptr;
}

bool groupNormShapeArg(napi_env env, napi_value value, crackdiff::GroupNormShape* shape) {
  int32_t* p = nullptr;
  if (!typedArray(env, value, napi_int32_array, &p)) return false;
  *shape = {p[0], p[1], p[2], p[3]};
  if (shape->batch < 1 || shape->pixels < 1 || shape->groups < 1 || shape->channels % shape->groups != 0) {
    return fail(env, "groupNorm: groups must divide the channels");
  }
  return true;
}

// groupNormRelu(shape [batch, pixels, channels, groups], x, t | null, gamma, beta, eps, y, stats)
napi_value GroupNormRelu(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  crackdiff::GroupNormShape s;
  float *x, *t, *gamma, *beta, *y, *stats;
  double eps = 0;
  if (!args(env, info, argv) || !groupNormShapeArg(env, argv[0], &s) ||
      !typedArray(env, argv[1], napi_float32_array, &x) || !typedArray(env, argv[2], napi_float32_array, &t, true) ||
      !typedArray(env, argv[3], napi_float32_array, &gamma) || !typedArray(env, argv[4], napi_float32_array, &beta) ||
      napi_get_value_double(env, argv[5], &eps) != napi_ok || !typedArray(env, argv[6], napi_float32_array, &y) ||
      !typedArray(env, argv[7], napi_float32_array, &stats)) {
    return nullptr;
  }
  const size_t n = static_cast<size_t>(s.batch) * s.pixels * s.channels;
  if (arrayLength(env, argv[1]) != n || arrayLength(env, argv[6]) != n ||
      (t && arrayLength(env, argv[2]) != static_cast<size_t>(s.batch) * s.channels) ||
      arrayLength(env, argv[3]) != static_cast<size_t>(s.channels) ||
      arrayLength(env, argv[4]) != static_cast<size_t>(s.channels) ||
      arrayLength(env, argv[7]) != static_cast<size_t>(s.batch) * s.groups * 2) {
    fail(env, "groupNormRelu: array lengths do not match the shape");
    return nullptr;
  }
  crackdiff::groupNormReluForward(s, x, t, gamma, beta, static_cast<float>(eps), y, stats);
  return nullptr;
}

// groupNormReluGrad(shape, x, t | null, gamma, beta, stats, dy, dx, dt | null, dgamma, dbeta)
napi_value GroupNormReluGrad(napi_env env, napi_callback_info info) {
  napi_value argv[11];
  crackdiff::GroupNormShape s;
  float *x, *t, *gamma, *beta, *stats, *dy, *dx, *dt, *dgamma, *dbeta;
  if (!args(env, info, argv) || !groupNormShapeArg(env, argv[0], &s) ||
      !typedArray(env, argv[1], napi_float32_array, &x) || !typedArray(env, argv[2], napi_float32_array, &t, true) ||
      !typedArray(env, argv[3], napi_float32_array, &gamma) || !typedArray(env, argv[4], napi_float32_array, &beta) ||
      !typedArray(env, argv[5], napi_float32_array, &stats) || !typedArray(env, argv[6], napi_float32_array, &dy) ||
      !typedArray(env, argv[7], napi_float32_array, &dx) || !typedArray(env, argv[8], napi_float32_array, &dt, true) ||
      !typedArray(env, argv[9], napi_float32_array, &dgamma) ||
      !typedArray(env, argv[10], napi_float32_array, &dbeta)) {
    return nullptr;
  }
  const size_t n = static_cast<size_t>(s.batch) * s.pixels * s.channels;
  const size_t perImage = static_cast<size_t>(s.batch) * s.channels, c = static_cast<size_t>(s.channels);
  if (arrayLength(env, argv[1]) != n || arrayLength(env, argv[6]) != n || arrayLength(env, argv[7]) != n ||
      (t && arrayLength(env, argv[2]) != perImage) || (dt && (!t || arrayLength(env, argv[8]) != perImage)) ||
      arrayLength(env, argv[3]) != c || arrayLength(env, argv[4]) != c || arrayLength(env, argv[9]) != c ||
      arrayLength(env, argv[10]) != c || arrayLength(env, argv[5]) != static_cast<size_t>(s.batch) * s.groups * 2) {
    fail(env, "groupNormReluGrad: array lengths do not match the shape");
    return nullptr;
  }
  crackdiff::groupNormReluBackward(s, x, t, gamma, beta, stats, dy, dx, dt, dgamma, dbeta);
  return nullptr;
}

// threads(n?) sets the thread count when given one and returns the count in use.
napi_value Threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int32_t n = 0;
  if (argc == 1 && napi_get_value_int32(env, argv[0], &n) == napi_ok) crackdiff::setThreads(n);
  napi_value result;
  napi_create_int32(env, crackdiff::threads(), &result);
  return result;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_value supported;
  napi_get_boolean(env, cpuSupported(), &supported);
  napi_set_named_property(env, exports, "cpuSupported", supported);
  napi_value isa;
  napi_create_string_utf8(env, crackdiff::compiledIsa(), NAPI_AUTO_LENGTH, &isa);
  napi_set_named_property(env, exports, "isa", isa);
  const struct {
    const char* name;
    napi_callback fn;
  } functions[] = {{"conv2d", Conv2d},
                   {"conv2dFused", Conv2dFused},
                   {"conv2dBackpropFilter", Conv2dBackpropFilter},
                   {"conv2dBackpropInput", Conv2dBackpropInput},
                   {"maxPoolGrad", MaxPoolGrad},
                   {"resizeNearestNeighbor", Resize<resizeForward>},
                   {"resizeNearestNeighborGrad", Resize<crackdiff::resizeNearestNeighborGrad>},
                   {"addOrMultiply", AddOrMultiply},
                   {"concat", Concat},
                   {"splitV", SplitV},
                   {"sumLeadingAxes", Sum<crackdiff::sumLeadingAxes>},
                   {"sumTrailingAxes", Sum<crackdiff::sumTrailingAxes>},
                   {"matMul", MatMul},
                   {"relu", Relu},
                   {"reluGrad", ReluGrad},
                   {"lineMeans", LineMeans},
                   {"groupNormRelu", GroupNormRelu},
                   {"groupNormReluGrad", GroupNormReluGrad},
                   {"adam", Adam},
                   {"ema", Ema},
                   {"sumOfSquares", SumOfSquares},
                   {"threads", Threads}};
  for (const auto& f : functions) {
    napi_value fn;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.fn, nullptr, &fn);
    napi_set_named_property(env, exports, f.name, fn);
  }
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
