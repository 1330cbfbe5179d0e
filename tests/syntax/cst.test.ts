import { fileURLToPath } from "node:url";
import * as prettier from "prettier";
import { describe, expect, it } from "vitest";
import { generateCstDts } from "../../compiler/syntax/chevrotain.js";
import { parser } from "../../compiler/syntax/parser.js";

const CST_TS = fileURLToPath(new URL("../../compiler/syntax/cst.ts", import.meta.url));

const HEADER = `/**
 * Types of the concrete syntax tree built by \`parser.ts\`, generated from its grammar
 * with Chevrotain's \`generateCstDts\`. Do not edit: \`tests/syntax/cst.test.ts\` checks
 * that this file is current; regenerate it with \`npx vitest run tests/syntax/cst.test.ts -u\`.
 */
`;

describe("CST types", () => {
  it("compiler/syntax/cst.ts matches the grammar", async () => {
    const dts = generateCstDts(parser.getGAstProductions(), {
      includeVisitorInterface: false,
    }).replace("ICstVisitor, ", ""); // only the visitor interface, left out, uses it
    const options = (await prettier.resolveConfig(CST_TS)) ?? {};
    const text = await prettier.format(HEADER + dts, { ...options, filepath: CST_TS });
    await expect(text).toMatchFileSnapshot(CST_TS);
  });
});
