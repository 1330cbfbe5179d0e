// The front-end fuzzer's worker thread, run from TypeScript source: on Node 20
// a worker does not inherit its parent's module hooks, so it registers tsx's
// loader before loading the fuzzer, which then serves probe requests.
import { register } from "tsx/esm/api";

register();
await import("./frontend.ts");
