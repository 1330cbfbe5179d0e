/** Lexical environments and the evaluation context of the elaborator. */
import type { Note } from "../diagnostics/diagnostic.js";
import type { ModuleInfo } from "./resolve.js";
import type { ModelInstance, Value } from "./types.js";

interface Slot {
  value: Value;
  readonly mutable: boolean;
}

/** A chain of scopes mapping names to compile-time values (tensors included). */
export class Env {
  private readonly slots = new Map<string, Slot>();
  constructor(readonly parent: Env | null) {}

  lookup(name: string): Value | undefined {
    return this.slots.get(name)?.value ?? this.parent?.lookup(name);
  }

  has(name: string): boolean {
    return this.slots.has(name) || (this.parent?.has(name) ?? false);
  }

  define(name: string, value: Value, mutable = false): void {
    this.slots.set(name, { value, mutable });
  }

  /** Updates the nearest `var` of that name; false if there is none. */
  assign(name: string, value: Value): boolean {
    const slot = this.slots.get(name);
    if (slot) {
      if (!slot.mutable) return false;
      slot.value = value;
      return true;
    }
    return this.parent?.assign(name, value) ?? false;
  }

  child(): Env {
    return new Env(this);
  }
}

/** Where an expression is being evaluated. */
export interface Ctx {
  readonly env: Env;
  /** The module whose top-level names are visible. */
  readonly module: ModuleInfo;
  /** The model instance whose members are visible, inside a model. */
  readonly self: ModelInstance | null;
  /** Call sites leading here, innermost first, attached to diagnostics in generic code. */
  readonly trail: readonly Note[];
  /** In a model's field initializer: the parameter path new sub-models get. */
  readonly field: string | null;
  /** Inside `param x: T = <init>`: initializer names are visible. */
  readonly init: boolean;
  /** Nesting depth of function calls, to stop runaway recursion. */
  readonly depth: number;
}
