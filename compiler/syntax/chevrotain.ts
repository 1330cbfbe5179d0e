/**
 * Chevrotain, loaded from its single-file build. The package's entry
 * (`lib/src/api.js`) imports about 680 modules (lodash-es among them) and
 * costs about 300 ms in every nnc process; the bundle beside it
 * (`lib/chevrotain.mjs`) has the same API and loads in about 15 ms. The
 * package's `exports` does not list the bundle, so it is found from the
 * entry. Every run-time use of Chevrotain in nnc goes through this module, so
 * tokens and parsers come from one copy of the library; types still come from
 * `"chevrotain"` (type-only imports are erased).
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

type Chevrotain = typeof import("chevrotain");

async function load(): Promise<Chevrotain> {
  const entry = createRequire(import.meta.url).resolve("chevrotain");
  try {
    return (await import(
      pathToFileURL(join(dirname(entry), "..", "chevrotain.mjs")).href
    )) as Chevrotain;
  } catch {
    // a layout without the bundle: the package entry works, only slower
    return await import("chevrotain");
  }
}

const chevrotain = await load();

export const { CstParser, EOF, Lexer, createToken, generateCstDts, tokenMatcher } = chevrotain;
