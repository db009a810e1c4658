/**
 * Everything a training loop needs to continue exactly where it stopped: the step, the weights, their EMA,
 * Adam's moments and the loss curve so far. The loop's random draws derive from (seed, step), so no generator
 * state is needed: steps k+1… after a resume draw what they would have drawn without the interruption.
 *
 * As bytes: "CDTS", a little-endian uint32 header length, the JSON header, zero padding to a multiple of 4,
 * then every tensor's float32 values in header order.
 */
import * as tf from "@tensorflow/tfjs";

const MAGIC = "CDTS";

export interface TrainState {
  /** The last completed step. */
  step: number;
  emaUpdates: number;
  losses: number[];
  weights: Map<string, tf.Tensor>;
  ema: Map<string, tf.Tensor>;
  /** Adam's moments in its own order (tf.Optimizer.getWeights without the iteration count). */
  optimizer: { name: string; tensor: tf.Tensor }[];
  optimizerIterations: number;
}

interface Header {
  step: number;
  emaUpdates: number;
  losses: number[];
  optimizerIterations: number;
  tensors: { group: "weights" | "ema" | "optimizer"; name: string; shape: number[] }[];
}

export async function encodeTrainState(state: TrainState): Promise<Uint8Array> {
  const tensors: { group: Header["tensors"][number]["group"]; name: string; tensor: tf.Tensor }[] = [
    ...[...state.weights].map(([name, tensor]) => ({ group: "weights" as const, name, tensor })),
    ...[...state.ema].map(([name, tensor]) => ({ group: "ema" as const, name, tensor })),
    ...state.optimizer.map(({ name, tensor }) => ({ group: "optimizer" as const, name, tensor })),
  ];
  const header: Header = {
    step: state.step,
    emaUpdates: state.emaUpdates,
    losses: state.losses,
    optimizerIterations: state.optimizerIterations,
    tensors: tensors.map(({ group, name, tensor }) => ({ group, name, shape: tensor.shape })),
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const dataStart = Math.ceil((8 + json.length) / 4) * 4;
  const total = tensors.reduce((n, t) => n + t.tensor.size, 0);
  const bytes = new Uint8Array(dataStart + total * 4);
  bytes.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(bytes.buffer).setUint32(4, json.length, true);
  bytes.set(json, 8);
  const floats = new Float32Array(bytes.buffer, dataStart, total);
  let offset = 0;
  for (const { tensor } of tensors) {
    floats.set((await tensor.data()) as Float32Array, offset);
    offset += tensor.size;
  }
  return bytes;
}

/** The caller owns the returned tensors. */
export function decodeTrainState(bytes: Uint8Array): TrainState {
  if (bytes.length < 8 || new TextDecoder().decode(bytes.subarray(0, 4)) !== MAGIC) {
    throw new Error("training state: not a Crackdiff training state (bad magic bytes)");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Header;
  const dataStart = Math.ceil((8 + headerLength) / 4) * 4;
  const total = header.tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
  if (bytes.length < dataStart + total * 4) throw new Error("training state: truncated");
  const floats = new Float32Array(bytes.slice(dataStart, dataStart + total * 4).buffer); // aligned copy
  const state: TrainState = {
    step: header.step,
    emaUpdates: header.emaUpdates,
    losses: header.losses,
    optimizerIterations: header.optimizerIterations,
    weights: new Map(),
    ema: new Map(),
    optimizer: [],
  };
  let offset = 0;
  for (const { group, name, shape } of header.tensors) {
    const size = shape.reduce((a, b) => a * b, 1);
    const tensor = tf.tensor(floats.subarray(offset, offset + size), shape);
    offset += size;
    if (group === "optimizer") state.optimizer.push({ name, tensor });
    else state[group].set(name, tensor);
  }
  return state;
}

export function disposeTrainState(state: TrainState): void {
  tf.dispose([...state.weights.values(), ...state.ema.values(), ...state.optimizer.map((o) => o.tensor)]);
}
