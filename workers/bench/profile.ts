/**
 * `npm run bench -- ml --profile`: where the default teacher's training step goes. For one more round of
 * benchTeacherTrain, every call into the native kernels is timed, per kernel and, for convolutions, per
 * shape; what the step spends outside them is JavaScript and wasm (tfjs's dispatch and gradient tape, the
 * noise, the crops). The timers themselves add a little to each call.
 */
import { activeAddon } from "../ml/kernels/native";

export interface KernelTime {
  /** The addon method, e.g. conv2dBackpropFilter. */
  kernel: string;
  /**
   * A convolution's batch×height×width×inC→outC, filter size / stride, and what it adds as it stores; ""
   * for other kernels.
   */
  shape: string;
  calls_per_step: number;
  ms_per_step: number;
}

export interface StepProfile {
  steps: number;
  step_ms: number;
  native_ms: number;
  /** Slowest first. */
  kernels: KernelTime[];
}

// ConvShape's fields (native/src/kernels.h): batch, inH, inW, inC, outH, outW, outC, kH, kW, strideH, ….
const convShape = (s: Int32Array) => `${s[0]}×${s[1]}×${s[2]}×${s[3]}→${s[6]} ${s[7]}×${s[8]}/${s[9]}`;

/**
 * A convolution's label: its shape and what it adds as it stores (a ResBlock's residual, or its 1×1 skip
 * conv from so many channels), which can cost as much as the convolution itself.
 */
function convLabel(kernel: string, args: unknown[]): string {
  const shape = args[0] as Int32Array;
  // conv2dFused(shape, x, w, bias, perImage, relu, residual, y, skipX, skipW, …) adds to its outC channels;
  // conv2dBackpropInput(shape, dy, w, dx, residual, skipDy, skipW) to its inC.
  const [residual, skipW, channels] =
    kernel === "conv2dFused" ? [args[6], args[9], shape[6]!]
    : kernel === "conv2dBackpropInput" ? [args[4], args[6], shape[3]!]
    : [null, null, 0];
  const added = residual ? " + residual" : skipW ? ` + 1×1 skip from ${(skipW as Float32Array).length / channels}` : "";
  return convShape(shape) + added;
}

/**
 * Wraps every method of the active addon in a timer that counts while switched on: `toggle` switches it
 * (benchTeacherTrain calls it after the warm-up and after the round), `finish` restores the methods and
 * returns the times per step. Null when the native kernels are not active.
 */
export function kernelProfiler(): { toggle: () => Promise<void>; finish: (steps: number, stepMs: number) => StepProfile } | null {
  const native = activeAddon() as unknown as Record<string, unknown> | null;
  if (!native) return null;
  const totals = new Map<string, { kernel: string; shape: string; ms: number; calls: number }>();
  const originals = new Map<string, unknown>();
  let counting = false;
  for (const [kernel, fn] of Object.entries(native)) {
    if (typeof fn !== "function" || kernel === "threads") continue;
    const method = fn as (...args: unknown[]) => unknown;
    originals.set(kernel, fn);
    native[kernel] = (...args: unknown[]) => {
      if (!counting) return method(...args);
      const started = performance.now();
      try {
        return method(...args);
      } finally {
        const shape = kernel.startsWith("conv") ? convLabel(kernel, args) : "";
        const entry = totals.get(kernel + shape) ?? { kernel, shape, ms: 0, calls: 0 };
        entry.ms += performance.now() - started;
        entry.calls++;
        totals.set(kernel + shape, entry);
      }
    };
  }
  return {
    toggle: async () => void (counting = !counting),
    finish: (steps, stepMs) => {
      for (const [kernel, method] of originals) native[kernel] = method;
      const kernels = [...totals.values()]
        .map(({ kernel, shape, ms, calls }) => ({ kernel, shape, calls_per_step: calls / steps, ms_per_step: ms / steps }))
        .sort((a, b) => b.ms_per_step - a.ms_per_step);
      return { steps, step_ms: stepMs, native_ms: kernels.reduce((sum, k) => sum + k.ms_per_step, 0), kernels };
    },
  };
}

/** The profile as lines of text, the convolutions also summed by pass. */
export function formatProfile(p: StepProfile): string {
  const passes = new Map<string, number>();
  for (const k of p.kernels) if (k.shape) passes.set(k.kernel, (passes.get(k.kernel) ?? 0) + k.ms_per_step);
  return [
    `teacher step ${p.step_ms.toFixed(1)} ms (${p.steps} steps profiled): native kernels ${p.native_ms.toFixed(1)} ms, ` +
      `JavaScript and wasm ${(p.step_ms - p.native_ms).toFixed(1)} ms`,
    `  convolutions by pass (ms): ${[...passes].map(([k, ms]) => `${k} ${ms.toFixed(1)}`).join(", ")}`,
    ...p.kernels.map(
      (k) => `  ${k.ms_per_step.toFixed(2).padStart(6)} ms ${String(k.calls_per_step).padStart(3)}× ${k.kernel} ${k.shape}`,
    ),
  ].join("\n");
}
