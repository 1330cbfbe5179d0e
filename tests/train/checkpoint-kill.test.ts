/**
 * Saving is atomic even when the process dies mid-save: a child process saves
 * 16 MiB checkpoints in a loop, and is killed with SIGKILL while a temporary
 * file is half written. The checkpoint on disk must then be one complete
 * earlier save, and the next run's load and save must work beside the
 * leftover temporary file.
 */
import { spawn } from "node:child_process";
import { readdir, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Tensor } from "../../runtime/tensor.js";
import { loadCheckpoint, saveCheckpoint } from "../../runtime/train/node.js";
import { tempFolder } from "./helpers.js";

const ELEMENTS = 1 << 22; // 16 MiB of f32 per save
const child = fileURLToPath(new URL("./fixtures/save-forever.ts", import.meta.url));
const tsxLoader = createRequire(import.meta.url).resolve("tsx");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the saver until a temp file is partly written, then SIGKILLs it; true when it died mid-save. */
async function killMidSave(
  dir: string,
  path: string,
): Promise<{ midSave: boolean; saves: number }> {
  const proc = spawn(process.execPath, ["--import", tsxLoader, child, path, `${ELEMENTS}`], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let saves = 0;
  let stderr = "";
  proc.stdout.on("data", (b: Buffer) => (saves += b.toString().split("saved").length - 1));
  proc.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<void>((r) => proc.on("exit", () => r()));
  const full = ELEMENTS * 4;
  let midSave = false;
  const deadline = Date.now() + 30_000;
  try {
    while (Date.now() < deadline && proc.exitCode === null) {
      if (saves >= 1) {
        for (const name of await readdir(dir)) {
          if (!name.endsWith(".tmp")) continue;
          const size = await stat(join(dir, name)).then(
            (s) => s.size,
            () => -1,
          );
          if (size > 0 && size < full) {
            proc.kill("SIGKILL");
            midSave = true;
            break;
          }
        }
        if (midSave) break;
      }
      await sleep(0);
    }
  } finally {
    if (proc.exitCode === null) proc.kill("SIGKILL");
    await exited;
  }
  if (saves === 0 && !midSave) throw new Error(`the saver never saved: ${stderr}`);
  return { midSave, saves };
}

describe("a save killed halfway", () => {
  it("leaves a complete earlier checkpoint, and the next save still works", async () => {
    const dir = await tempFolder();
    const path = join(dir, "ckpt.safetensors");
    // a torn write is a race: try until the kill lands inside a save (it nearly always does at once)
    let result = { midSave: false, saves: 0 };
    for (let attempt = 0; attempt < 5 && !result.midSave; attempt++)
      result = await killMidSave(dir, path);
    expect(result.midSave).toBe(true);
    const leftovers = (await readdir(dir)).filter((n) => n.endsWith(".tmp"));
    expect(leftovers.length).toBeGreaterThan(0); // the torn temp file is still there
    const loaded = await loadCheckpoint(path); // the checkpoint itself is whole
    const version = Number(loaded.metadata["version"]);
    expect(version).toBeGreaterThanOrEqual(1);
    const w = loaded.tensors["w"]!;
    expect(w.shape).toEqual([ELEMENTS]);
    expect(w.data.every((v) => v === version)).toBe(true);
    // the next run saves over it beside the leftover, and reads its own data back
    await saveCheckpoint(path, { w: new Tensor("f32", [2], Float32Array.of(5, 6)) });
    expect([...(await loadCheckpoint(path)).tensors["w"]!.data]).toEqual([5, 6]);
  }, 90_000);
});
