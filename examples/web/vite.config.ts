// The demo's Vite config: `npm run demo` serves it (dev server with hot updates), `npx vite build
// examples/web` bundles it. The nnc plugin compiles `../poisson1d.nn` on import and writes its
// TypeScript declarations beside it (`poisson1d.d.nn.ts`), which main.ts type-checks against.
import nnc from "nnc/vite";
import { defineConfig } from "vite";

export default defineConfig({
  plugins: [nnc({ dts: true })],
  server: { host: "127.0.0.1" },
  preview: { host: "127.0.0.1" },
  // optimize nothing ahead: the page's only dependency is nnc itself (resolved by the plugin)
  optimizeDeps: { noDiscovery: true, include: [] },
  build: {
    target: "es2022",
    // the compiled PINN (its CPU kernels and shaders) is one module of about 700 kB
    chunkSizeWarningLimit: 1024,
    // compiling it takes a few seconds, which Rolldown would report as a slow plugin
    rolldownOptions: { checks: { bundlerTimings: false } },
  },
});
