/**
 * Picks the TensorFlow.js compute backend: CRACKDIFF_BACKEND=auto|tensorflow|webgpu|wasm|cpu.
 *
 * `auto` takes, in order: @tensorflow/tfjs-node-gpu when it runs on a GPU; WebGPU when a hardware GPU
 * adapter is present (./webgpu.ts: Dawn's Node bindings, Vulkan on Linux, probed only where a GPU device
 * file exists; a software adapter such as
 * lavapipe or SwiftShader is not taken, it is slower than the CPU backends); the wasm backend when the native
 * kernels are built (they train this project's UNets faster than PyTorch on the CPU, see the README);
 * @tensorflow/tfjs-node (libtensorflow on the CPU); wasm with its own kernels; the pure-JavaScript cpu
 * backend. The tfjs-node packages and the WebGPU ones are optional dependencies: the first are installed
 * where libtensorflow can be downloaded and silently skipped otherwise. ./kernels adds the gradient kernel
 * wasm lacks and replaces slow or wrong ones, and where native/ is built runs wasm's heaviest kernels in
 * native code (./kernels/native.ts).
 *
 * Everything runs on the one `@tensorflow/tfjs` instance the rest of the engine imports; a native package
 * that brought its own copy of tfjs-core would register its backend with another engine, so that is
 * checked and reported instead of silently training on the wrong backend.
 */
import { execFileSync } from "node:child_process";
import os from "node:os";
import * as tf from "@tensorflow/tfjs";
import * as wasm from "@tensorflow/tfjs-backend-wasm";
import { registerKernels } from "./kernels";
import { nativeStatus } from "./kernels/native";
import { gpuDevicePresent, useWebgpu } from "./webgpu";

export const BACKEND_CHOICES = ["auto", "tensorflow", "webgpu", "wasm", "cpu"] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export interface BackendInfo {
  /** tfjs backend name: "tensorflow", "webgpu", "wasm" or "cpu". */
  backend: string;
  /** What it runs on, for run records, e.g. "wasm simd, 1 thread, Intel(R) Xeon(R) Processor". */
  device: string;
}

/** The backend choice from CRACKDIFF_BACKEND (unset or empty means "auto"). */
export function fromEnv(env: Record<string, string | undefined> = process.env): BackendChoice {
  const value = env.CRACKDIFF_BACKEND?.trim().toLowerCase();
  if (!value) return "auto";
  if (!(BACKEND_CHOICES as readonly string[]).includes(value)) {
    throw new Error(
      `CRACKDIFF_BACKEND must be one of ${BACKEND_CHOICES.join(", ")}; got "${env.CRACKDIFF_BACKEND}"`,
    );
  }
  return value as BackendChoice;
}

const NATIVE_PACKAGES = ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"] as const;

let active: { choice: BackendChoice; info: BackendInfo } | undefined;
/** Calls run one after another, so concurrent callers never interleave two backend switches. */
let queue: Promise<unknown> = Promise.resolve();

/**
 * Initialises the backend and returns what it is. Idempotent: calling again with the same choice returns
 * the same info without re-initialising; a different choice switches backends (the benchmarks compare).
 */
export async function initBackend(choice: BackendChoice = fromEnv()): Promise<BackendInfo> {
  if (!(BACKEND_CHOICES as readonly string[]).includes(choice)) {
    throw new Error(`backend must be one of ${BACKEND_CHOICES.join(", ")}; got "${choice}"`);
  }
  const run = queue.then(async () => {
    if (active?.choice === choice && tf.getBackend() === active.info.backend) return active.info;
    registerKernels();
    const info = await selectBackend(choice);
    active = { choice, info };
    return info;
  });
  queue = run.catch(() => undefined);
  return run;
}

/** The backend in use now (initialising the default one if nobody has yet). */
export async function describeBackend(): Promise<BackendInfo> {
  return active && tf.getBackend() === active.info.backend ? active.info : initBackend();
}

async function selectBackend(choice: BackendChoice): Promise<BackendInfo> {
  if (choice === "auto") {
    const gpu = await useNative("@tensorflow/tfjs-node-gpu").catch(() => null);
    if (gpu && usingGpu()) return gpu;
    const webgpu = gpuDevicePresent() ? await useWebgpu({ hardwareOnly: true }).catch(() => null) : null;
    if (webgpu) return webgpu;
    if (nativeStatus().active) return useWasm();
  }
  if (choice === "webgpu") return useWebgpu();
  if (choice === "tensorflow" || choice === "auto") {
    const errors: string[] = [];
    for (const name of NATIVE_PACKAGES) {
      try {
        return await useNative(name);
      } catch (err) {
        errors.push(`${name}: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`);
      }
    }
    if (choice === "tensorflow") {
      throw new Error(
        "CRACKDIFF_BACKEND=tensorflow needs @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node " +
          `(npm install @tensorflow/tfjs-node, which downloads libtensorflow). Tried:\n  ${errors.join("\n  ")}`,
      );
    }
  }
  if (choice === "wasm" || choice === "auto") {
    try {
      return await useWasm();
    } catch (err) {
      if (choice === "wasm") throw err;
    }
  }
  return useCpu();
}

/** Loads a tfjs-node package (which registers the "tensorflow" backend on import) and switches to it. */
async function useNative(name: (typeof NATIVE_PACKAGES)[number]): Promise<BackendInfo> {
  // A computed specifier keeps bundlers and the type checker from requiring the optional package.
  const specifier: string = name;
  const native = (await import(specifier)) as { version?: Record<string, string> };
  if (!tf.findBackendFactory("tensorflow")) {
    const theirs = native.version?.["tfjs-core"] ?? "another version";
    throw new Error(
      `${name} registered its backend with its own copy of @tensorflow/tfjs-core (${theirs}), not the ` +
        `one Crackdiff uses (${tf.version_core}); install a version of ${name} matching @tensorflow/tfjs`,
    );
  }
  if (!(await tf.setBackend("tensorflow"))) throw new Error(`${name} is installed but its backend failed to start`);
  const gpu = name === "@tensorflow/tfjs-node-gpu" ? gpuName() : undefined;
  return {
    backend: "tensorflow",
    device: gpu ? `libtensorflow GPU, ${gpu}` : `libtensorflow CPU, ${os.cpus().length} cores, ${cpuModel()}`,
  };
}

async function useWasm(): Promise<BackendInfo> {
  // No setWasmPaths needed: in Node the package's main build reads its .wasm files from its own dist/
  // folder (node_modules/@tensorflow/tfjs-backend-wasm/dist), also inside worker threads.
  if (!(await tf.setBackend("wasm"))) throw new Error("the wasm backend failed to start");
  const simd = tf.env().getBool("WASM_HAS_SIMD_SUPPORT");
  // In Node the threaded build cannot start its workers: the count is 1 there.
  const threads = wasm.getThreadsCount();
  const native = nativeStatus();
  const nativeKernels = native.active
    ? `, native kernels (${native.isa}) on ${native.threads} thread${native.threads === 1 ? "" : "s"}`
    : "";
  return {
    backend: "wasm",
    device: `wasm${simd ? " simd" : ""}, ${threads} thread${threads === 1 ? "" : "s"}${nativeKernels}, ${cpuModel()}`,
  };
}

async function useCpu(): Promise<BackendInfo> {
  if (!(await tf.setBackend("cpu"))) throw new Error("the cpu backend failed to start");
  return { backend: "cpu", device: `pure JavaScript, 1 thread, ${cpuModel()}` };
}

function cpuModel(): string {
  return os.cpus()[0]?.model.trim() || `${os.arch()} CPU`;
}

/** Whether the active tensorflow backend is the GPU package on a GPU device. */
function usingGpu(): boolean {
  const backend = tf.findBackend("tensorflow") as { isGPUPackage?: boolean; isUsingGpuDevice?: boolean } | null;
  return Boolean(backend?.isGPUPackage && backend.isUsingGpuDevice);
}

/** The first GPU's name from nvidia-smi, if there is one to ask. */
function gpuName(): string | undefined {
  try {
    const out = execFileSync("nvidia-smi", ["--query-gpu=name", "--format=csv,noheader"], {
      encoding: "utf8",
      timeout: 5000,
      stdio: ["ignore", "pipe", "ignore"],
    });
    return out.split("\n")[0]?.trim() || undefined;
  } catch {
    return undefined;
  }
}
