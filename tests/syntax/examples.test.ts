import { describe, expect, it } from "vitest";
import { printAst } from "../../compiler/ast/print.js";
import type { Block, FnDecl, ModelDecl } from "../../compiler/ast/nodes.js";
import { MISC_EXAMPLE, MLP_EXAMPLE, PINN_EXAMPLE, parseOk } from "./helpers.js";

describe("example programs", () => {
  it("parses the MLP classifier", () => {
    const { module } = parseOk(MLP_EXAMPLE);
    expect(module.items.map((i) => i.kind)).toEqual(["use", "use", "use", "model", "train"]);
    expect(printAst(module)).toMatchInlineSnapshot(`
      "(module "test.nn"
        (use std.nn (dense relu))
        (use std.loss (softmax_cross_entropy))
        (use std.optim (adam))
        (model Classifier
          (param hidden (type int) (default 64))
          (field l1 (call (name dense) 2 (name hidden)))
          (field l2 (call (name dense) (name hidden) (name hidden)))
          (field out (call (name dense) (name hidden) 3))
          (fn logits
            (param x (type f32 [B 2]))
            (return-type (type f32 [B 3]))
            (call (name out)
              (call (name relu) (call (name l2) (call (name relu) (call (name l1) (name x)))))))
          (loss xent
            (param x (type f32 [B 2]))
            (param y (type i32 [B]))
            (call (name softmax_cross_entropy) (call (name logits) (name x)) (name y))))
        (train Classifier.xent (call (name adam) (arg lr 1e-3))))"
    `);
  });

  it("parses the PINN", () => {
    const { module } = parseOk(PINN_EXAMPLE);
    const model = module.items[2] as ModelDecl;
    const pinn = model.items[2] as FnDecl;
    expect(pinn).toMatchObject({ kind: "fn", flavor: "loss", name: { name: "pinn" } });
    const body = pinn.body as Block;
    expect(body.stmts.map((s) => s.kind)).toEqual(["let", "return"]);
    expect(printAst(module)).toMatchInlineSnapshot(`
      "(module "test.nn"
        (use std.nn (mlp tanh))
        (use std.optim (adam))
        (model Poisson
          (field net (call (name mlp) (list 1 50 50 50 1) (arg act (name tanh))))
          (fn u (param x (type f32 [N 1])) (return-type (type f32 [N 1])) (call (name net) (name x)))
          (loss pinn
            (param x (type f32 [N 1]))
            (param xb (type f32 [M 1]))
            (block
              (let r
                (-
                  (- (call (name d) (call (name d) (call (name u) (name x)) (name x)) (name x)))
                  (* (^ (name PI) 2) (call (name sin) (* (name PI) (name x))))))
              (return
                (+ (call (name mean) (^ (name r) 2)) (call (name mean) (^ (call (name u) (name xb)) 2)))))))
        (train Poisson.pinn (call (name adam) (arg lr 1e-3)) (option steps 5000) (option batch 128)))"
    `);
  });

  it("parses saliency, a generic MLP, a const and a function with slices", () => {
    const { module } = parseOk(MISC_EXAMPLE);
    expect(module.items.map((i) => i.kind)).toEqual(["use", "fn", "model", "const", "fn"]);
    expect(printAst(module)).toMatchInlineSnapshot(`
      "(module "test.nn"
        (use examples.cnn (Cnn))
        (fn saliency
          (param m (type Cnn))
          (param x (type f32 [1 28 28]))
          (param class (type i32))
          (return-type (type f32 [1 28 28]))
          (call (name abs)
            (call (name grad) (index (call (member (name m) logits) (name x)) 0 (name class)) (name x))))
        (model mlp
          (param sizes (list-type (type int)))
          (param act (type fn) (default (name relu)))
          (field layers
            (comprehension
              (call (name dense) (index (name sizes) (name i)) (index (name sizes) (+ (name i) 1)))
              i
              (range 0 (- (call (name len) (name sizes)) 1))))
          (fn forward
            (param x (type f32 [...S (index (name sizes) 0)]))
            (return-type (type f32 [...S (index (name sizes) (- 1))]))
            (block
              (var h (name x))
              (for i
                (range 0 (- (call (name len) (name layers)) 1))
                (block (assign h (call (name act) (call (index (name layers) (name i)) (name h))))))
              (return (call (index (name layers) (- (call (name len) (name layers)) 1)) (name h))))))
        (const EPS (type float) 1e-6)
        (fn f
          (param x (type f32 [N 3]))
          (return-type (type f32 [N]))
          (block
            (let y
              (+
                (index (name x) (slice _ _ _) 0)
                (index (index (name x) ... (slice 1 3 1)) (slice _ _ _) 0)))
            (if true (block (return (name y))) (else (block (return (- (name y)))))))))"
    `);
  });
});
