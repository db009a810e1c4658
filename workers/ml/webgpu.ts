/**
 * The WebGPU backend in Node: @tensorflow/tfjs-backend-webgpu on Dawn through the `webgpu` package (Dawn's
 * Node bindings, prebuilt; Vulkan on Linux, Metal on macOS, D3D12 on Windows). Both are optional
 * dependencies, loaded with computed specifiers so neither the type checker nor a bundler requires them.
 *
 * tfjs-backend-webgpu expects a browser: it reads `navigator.gpu` and the GPUBufferUsage-style constants
 * from the global scope, so they are installed from Dawn's before the backend is imported. Reading a tensor
 * synchronously (dataSync) needs OffscreenCanvas, which Node lacks; the engine reads with data() only.
 */
import { readdirSync } from "node:fs";
import * as tf from "@tensorflow/tfjs";
import type { BackendInfo } from "./backend";
import { registerWebgpuAddN } from "./kernels/webgpu_add_n";

/** The few members of Dawn's GPUAdapterInfo read here. */
interface AdapterInfo {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}
interface Adapter {
  info?: AdapterInfo;
  isFallbackAdapter?: boolean;
}
interface Gpu {
  requestAdapter(options?: { powerPreference?: "high-performance" | "low-power" }): Promise<Adapter | null>;
}
interface DawnModule {
  create(flags: string[]): Gpu;
  globals: Record<string, unknown>;
}

const API: Partial<Record<NodeJS.Platform, string>> = { linux: "Vulkan", darwin: "Metal", win32: "D3D12" };

let gpu: Promise<Gpu> | undefined;

/** One Dawn instance per process, installed where tfjs-backend-webgpu looks for it. */
function dawn(): Promise<Gpu> {
  gpu ??= (async () => {
    const specifier: string = "webgpu";
    const { create, globals } = (await import(specifier)) as DawnModule;
    for (const [name, value] of Object.entries(globals)) {
      if (!(name in globalThis)) Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
    }
    const instance = create([]);
    const scope = globalThis as { navigator?: { gpu?: unknown } };
    if (!scope.navigator) {
      Object.defineProperty(globalThis, "navigator", { value: { gpu: instance }, configurable: true, writable: true });
    } else if (!scope.navigator.gpu) {
      Object.defineProperty(scope.navigator, "gpu", { value: instance, configurable: true });
    }
    return instance;
  })();
  gpu.catch(() => (gpu = undefined));
  return gpu;
}

/** Whether the adapter is a CPU rasteriser (lavapipe/llvmpipe, SwiftShader, WARP) rather than a GPU. */
export function isSoftwareAdapter(adapter: Adapter): boolean {
  const info = adapter.info ?? {};
  if (info.isFallbackAdapter ?? adapter.isFallbackAdapter) return true;
  if (info.architecture === "software") return true;
  return /llvmpipe|lavapipe|swiftshader|microsoft basic render/i.test(`${info.description} ${info.device}`);
}

/** The adapter as a run records it, e.g. "webgpu (Dawn, Vulkan), NVIDIA H200". */
export function describeAdapter(adapter: Adapter, platform: NodeJS.Platform = process.platform): string {
  const info = adapter.info ?? {};
  const name = info.description || info.device || [info.vendor, info.architecture].filter(Boolean).join(" ") || "unnamed adapter";
  const api = API[platform];
  return `webgpu (Dawn${api ? `, ${api}` : ""}), ${name}${isSoftwareAdapter(adapter) ? " (software)" : ""}`;
}

/**
 * Whether this machine may have a GPU for WebGPU: on Linux a DRM render node or an NVIDIA device file
 * (WSL: /dev/dxg); elsewhere assumed. Where there is none, `auto` does not probe: Dawn, looking for
 * Vulkan, prints warnings on every start of a machine without one.
 */
export function gpuDevicePresent(platform: NodeJS.Platform = process.platform, dev = "/dev"): boolean {
  if (platform !== "linux") return true;
  const has = (dir: string, test: (name: string) => boolean) => {
    try {
      return readdirSync(dir).some(test);
    } catch {
      return false;
    }
  };
  return has(`${dev}/dri`, (n) => n.startsWith("renderD")) || has(dev, (n) => /^nvidia\d+$/.test(n) || n === "dxg");
}

/** Dawn's high-performance adapter; throws, saying why, where the package or an adapter is missing. */
async function adapter(): Promise<Adapter> {
  let instance: Gpu;
  try {
    instance = await dawn();
  } catch (err) {
    throw new Error(
      "the WebGPU backend needs the optional package `webgpu` (npm install webgpu): " +
        (err instanceof Error ? err.message.split("\n")[0] : String(err)),
    );
  }
  const found = await instance.requestAdapter({ powerPreference: "high-performance" });
  if (!found) {
    throw new Error(
      "WebGPU found no adapter: Dawn needs a GPU driver it can use (on Linux the Vulkan loader libvulkan.so.1 " +
        "and a Vulkan driver; Mesa's lavapipe, from Mesa 23 on, gives a software one)",
    );
  }
  return found;
}

/** The adapter the WebGPU backend would run on, as describeAdapter words it (see adapter() for the throws). */
export async function webgpuAdapter(): Promise<{ device: string; software: boolean }> {
  const found = await adapter();
  return { device: describeAdapter(found), software: isSoftwareAdapter(found) };
}

/**
 * Switches to the WebGPU backend on the high-performance adapter. With `hardwareOnly` a software adapter
 * is refused before the backend package is even imported (it registers itself above wasm's priority).
 */
export async function useWebgpu({ hardwareOnly = false } = {}): Promise<BackendInfo> {
  const found = await adapter();
  if (hardwareOnly && isSoftwareAdapter(found)) {
    throw new Error(`WebGPU's only adapter is a software one: ${describeAdapter(found)}`);
  }
  const specifier: string = "@tensorflow/tfjs-backend-webgpu";
  const backend = (await import(specifier)) as { version_webgpu?: string };
  if (!tf.findBackendFactory("webgpu")) {
    throw new Error(
      `@tensorflow/tfjs-backend-webgpu ${backend.version_webgpu ?? ""} registered with its own copy of ` +
        `@tensorflow/tfjs-core, not the one Crackdiff uses (${tf.version_core}); install the matching version`,
    );
  }
  registerWebgpuAddN();
  if (!(await tf.setBackend("webgpu"))) throw new Error("the webgpu backend failed to start");
  return { backend: "webgpu", device: describeAdapter(found) };
}
