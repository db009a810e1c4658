/** `npm run bench -- <suite> [--json]`: benchmarks measure and report; they never assert. */
import { runCommand } from "./cli/args";

void runCommand(
  "bench",
  {
    ml: () => import("./bench/ml"),
    platform: () => import("./bench/platform"),
  },
  process.argv.slice(2),
);
