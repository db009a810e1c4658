/**
 * The CLI's RunContext over model folders: the artifact "checkpoint" of run DIR is MODEL_DIR's model.json +
 * weights.bin as the bytes a worker would store (the same header, then the floats); any other artifact NAME
 * is the file DIR/NAME.bin. So the CLI and the worker share every runner.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { RunContext } from "../kinds";
import type { RunLogger } from "../logger";

export async function readModelDirBytes(dir: string): Promise<Uint8Array> {
  let json: Buffer;
  let floats: Buffer;
  try {
    [json, floats] = await Promise.all([readFile(path.join(dir, "model.json")), readFile(path.join(dir, "weights.bin"))]);
  } catch (err) {
    throw new Error(`cannot read ${dir}/model.json and weights.bin (${(err as Error).message})`);
  }
  const header = Buffer.from(JSON.stringify(JSON.parse(json.toString("utf8"))));
  const start = Math.ceil((8 + header.length) / 4) * 4;
  const bytes = new Uint8Array(start + floats.length);
  bytes.set(Buffer.from("CDCK"), 0);
  new DataView(bytes.buffer).setUint32(4, header.length, true);
  bytes.set(header, 8);
  bytes.set(floats, start);
  return bytes;
}

export function folderContext(logger: RunLogger): RunContext {
  return {
    logger,
    dataRoots: "anywhere", // the command line reads whatever its user can
    loadArtifact: async (dir, name) => {
      if (name === "checkpoint") return readModelDirBytes(dir);
      try {
        const data = await readFile(path.join(dir, `${name}.bin`));
        return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      } catch {
        throw new Error(`run ${dir} has no artifact "${name}"`);
      }
    },
    saveArtifact: async (dir, name, _kind, bytes) => {
      const file = path.join(dir, `${name}.bin`);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, bytes);
    },
  };
}
