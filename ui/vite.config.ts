import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The build goes into the Python package, which ships it (users never need Node).
export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    outDir: "../sdk/kubeline/ui/static",
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 2000,
  },
  worker: { format: "es" },
  server: { proxy: { "/api": "http://127.0.0.1:8050" } },
});
