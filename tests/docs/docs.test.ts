import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BUILTINS } from "../../compiler/check/builtins.js";
import { languageDocPath, updatedLanguageDoc } from "../../scripts/builtins-doc.js";

describe("docs/language.md", () => {
  const text = readFileSync(languageDocPath, "utf8");

  it("has an up-to-date builtin reference (run `npm run docs` to regenerate)", () => {
    expect(updatedLanguageDoc(text)).toBe(text);
  });

  it("documents every builtin with its shape rule", () => {
    for (const b of BUILTINS.values())
      expect(text).toContain(`\`${b.signature.replace(/\|/g, "\\|")}\``);
  });
});
