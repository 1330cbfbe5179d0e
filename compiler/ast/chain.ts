/**
 * Left-associative operator chains (`a + b + c + …`) as a sequence. The parser
 * builds them as left-deep trees, so a chain of 100,000 terms is 100,000 deep;
 * walkers that recurse on `left` would overflow the stack. They walk the
 * chain's spine with {@link binaryChain} instead, and recurse only into the
 * right operands, whose depth the parser bounds.
 */
import type { BinaryExpr, Expr } from "./nodes.js";

/** A chain `first op₁ r₁ op₂ r₂ …`: `links` from the innermost node (`first op₁ r₁`) outwards. */
export interface BinaryChain {
  readonly first: Expr;
  readonly links: readonly BinaryExpr[];
}

/** The left spine of `e`: its leftmost non-binary operand, then each binary node, innermost first. */
export function binaryChain(e: BinaryExpr): BinaryChain {
  const links: BinaryExpr[] = [];
  let x: Expr = e;
  while (x.kind === "binary") {
    links.push(x);
    x = x.left;
  }
  return { first: x, links: links.reverse() };
}
