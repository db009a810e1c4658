/** `npm run cli -- <command> [options] [--json]`: the engine without the web app. */
import { runCommand } from "./cli/args";

void runCommand(
  "cli",
  {
    synth: () => import("./cli/synth"),
    train: () => import("./cli/train"),
    eval: () => import("./cli/eval"),
    viz: () => import("./cli/viz"),
  },
  process.argv.slice(2),
);
