import {
  type CallOptions as $CallOptions,
  type ModuleOptions as $ModuleOptions,
  type Tensor as $Tensor,
  type TensorLike as $TensorLike,
} from "nnc/runtime";
/** Compiled model `Poisson` (with its default hyperparameters). Create with `await Poisson.create({ backend, seed })`. */
export declare class Poisson {
  /** Parameter shapes by path. */
  static readonly parameterShapes: Readonly<Record<string, readonly number[]>>;
  /** The `train` declaration: steps, data of each input of `step`, evaluation (what `nnc train` runs). */
  static readonly training: {
    readonly loss: "pinn";
    readonly optimizer: "adam(lr = 0.001)";
    readonly steps: 10000;
    readonly seed: 0;
    readonly batch: any;
    readonly keepBest: true;
    readonly logEvery: any;
    readonly data: {
      readonly x: {
        readonly kind: "lhs";
        readonly n: 64;
        readonly low: readonly [-1];
        readonly high: readonly [1];
        readonly resample: true;
      };
      readonly xb: {
        readonly kind: "tensor";
        readonly dtype: "f32";
        readonly shape: readonly [2, 1];
        readonly data: readonly [-1, 1];
      };
    };
    readonly predict: "u";
    readonly exact: true;
    readonly test: {
      readonly kind: "grid";
      readonly n: 1000;
      readonly low: readonly [-1];
      readonly high: readonly [1];
    };
    readonly accuracy: any;
    readonly evaluate: readonly [];
    readonly evalEvery: any;
    readonly evalBatch: 1000;
    readonly show: readonly [];
  };
  private readonly module;
  private constructor();
  /** Creates the module on a backend (`"cpu"`, `"wasm"`, `"webgpu"`, `"webgl2"` or `"auto"`) and initializes its parameters from `seed`. */
  static create(options?: $ModuleOptions): Promise<Poisson>;
  /** The backend in use. */
  get backend(): string;
  get adapter(): string | null;
  /** `fn u(x: f32[N, 1]) -> f32[N, 1]` */
  u(x: $TensorLike): Promise<$Tensor>;
  /** `loss pinn(x: f32[N, 1], xb: f32[M, 1]) -> f32` */
  pinn(x: $TensorLike, xb: $TensorLike): Promise<$Tensor>;
  /** `loss step(x: f32[N, 1], xb: f32[M, 1]) -> f32` */
  step(x: $TensorLike, xb: $TensorLike): Promise<$Tensor>;
  /** With `{ read: false }` the loss is not read back and the result is null. */
  step(x: $TensorLike, xb: $TensorLike, $options: $CallOptions): Promise<$Tensor | null>;
  /** `fn exact(x: f32[N, 1]) -> f32[N, 1]` */
  exact(x: $TensorLike): Promise<$Tensor>;
  /** A copy of every parameter, by path (read back from the device on a GPU). */
  parameters(): Promise<Record<string, $Tensor>>;
  /** Replaces parameters by path, after checking every shape. */
  setParameters(values: Readonly<Record<string, $TensorLike>>): void;
  /** A copy of all persistent state (parameters and, with `step`, optimizer state), by path. */
  state(): Promise<Record<string, $Tensor>>;
  /** Replaces persistent state by path, after checking every shape. */
  setState(values: Readonly<Record<string, $TensorLike>>): void;
  /** Saves the state as a safetensors checkpoint (Node; written atomically). */
  save(path: string): Promise<void>;
  /** Loads a checkpoint written by `save` or `nnc train`; a mismatched file changes nothing. */
  load(path: string): Promise<void>;
  /** Releases the module's resources. */
  dispose(): void;
}
/** Compiled the top-level functions. Create with `await Functions.create({ backend, seed })`. */
export declare class Functions {
  /** Parameter shapes by path. */
  static readonly parameterShapes: Readonly<Record<string, readonly number[]>>;
  private readonly module;
  private constructor();
  /** Creates the module on a backend (`"cpu"`, `"wasm"`, `"webgpu"`, `"webgl2"` or `"auto"`) and initializes its parameters from `seed`. */
  static create(options?: $ModuleOptions): Promise<Functions>;
  /** The backend in use. */
  get backend(): string;
  get adapter(): string | null;
  /** `fn exact(x: f32[N, 1]) -> f32[N, 1]` */
  exact(x: $TensorLike): Promise<$Tensor>;
  /** A copy of every parameter, by path (read back from the device on a GPU). */
  parameters(): Promise<Record<string, $Tensor>>;
  /** Replaces parameters by path, after checking every shape. */
  setParameters(values: Readonly<Record<string, $TensorLike>>): void;
  /** A copy of all persistent state (parameters and, with `step`, optimizer state), by path. */
  state(): Promise<Record<string, $Tensor>>;
  /** Replaces persistent state by path, after checking every shape. */
  setState(values: Readonly<Record<string, $TensorLike>>): void;
  /** Saves the state as a safetensors checkpoint (Node; written atomically). */
  save(path: string): Promise<void>;
  /** Loads a checkpoint written by `save` or `nnc train`; a mismatched file changes nothing. */
  load(path: string): Promise<void>;
  /** Releases the module's resources. */
  dispose(): void;
}
