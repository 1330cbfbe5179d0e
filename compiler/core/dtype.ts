/** Element types of tensors. `f32` is computed in f64 on the CPU backend when asked (gradient checks). */
export type DType = "f32" | "i32" | "bool";

export const DTYPES: readonly DType[] = ["f32", "i32", "bool"];

export function isDType(s: string): s is DType {
  return s === "f32" || s === "i32" || s === "bool";
}

export function isFloat(d: DType): boolean {
  return d === "f32";
}

export function isNumeric(d: DType): boolean {
  return d === "f32" || d === "i32";
}
