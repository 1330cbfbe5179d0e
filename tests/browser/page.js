// The browser side of tests/browser/webgpu.test.ts: imports a compiled nnc module served from
// 127.0.0.1, runs functions on the backend the test names, and hands back plain JSON.

/** Arguments travel as JSON: `{ i32: [...] }` marks an integer vector (labels). */
const decode = (a) =>
  a && typeof a === "object" && !Array.isArray(a) && "i32" in a ? Int32Array.from(a.i32) : a;

const plain = (t) => ({ dtype: t.dtype, shape: [...t.shape], data: Array.from(t.data) });

/** The WebGPU adapter this browser offers, or why there is none. */
window.nncAdapter = async () => {
  if (!("gpu" in navigator))
    return { error: "navigator.gpu is undefined", secure: isSecureContext };
  const adapter = await navigator.gpu.requestAdapter();
  if (adapter === null) return { error: "requestAdapter() returned null", secure: isSecureContext };
  const i = adapter.info ?? {};
  return {
    vendor: i.vendor,
    architecture: i.architecture,
    device: i.device,
    description: i.description,
    fallback: adapter.isFallbackAdapter ?? i.isFallbackAdapter ?? null,
    secure: isSecureContext,
  };
};

/**
 * job: { module: "/out/mlp/mlp.js", cls, backend, seed, calls: [{ method, args } | { parameters: true }] }.
 * Returns { backend, results } or { error }.
 */
window.nncRun = async (job) => {
  let m = null;
  try {
    const mod = await import(job.module);
    m = await mod[job.cls].create({ backend: job.backend, seed: job.seed });
    const results = [];
    for (const c of job.calls) {
      if (c.parameters) {
        results.push(
          Object.fromEntries(Object.entries(await m.parameters()).map(([k, t]) => [k, plain(t)])),
        );
      } else {
        results.push(plain(await m[c.method](...c.args.map(decode))));
      }
    }
    return { backend: m.backend, results };
  } catch (e) {
    return { error: `${e?.name ?? "Error"}: ${e?.message ?? String(e)}\n${e?.stack ?? ""}` };
  } finally {
    m?.dispose();
  }
};

window.nncReady = true;
