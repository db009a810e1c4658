/** Minimal `--flag value` / `--switch` parser shared by the CLI commands and the benchmarks. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export class Args {
  private readonly flags = new Map<string, string | true>();
  readonly positional: string[] = [];

  constructor(argv: string[]) {
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]!;
      if (!a.startsWith("--")) {
        this.positional.push(a);
        continue;
      }
      const eq = a.indexOf("=");
      if (eq > 0) {
        this.flags.set(a.slice(2, eq), a.slice(eq + 1));
      } else if (i + 1 < argv.length && !argv[i + 1]!.startsWith("--")) {
        this.flags.set(a.slice(2), argv[++i]!);
      } else {
        this.flags.set(a.slice(2), true);
      }
    }
  }

  has(name: string): boolean {
    return this.flags.has(name);
  }

  string(name: string): string | undefined;
  string(name: string, fallback: string): string;
  string(name: string, fallback?: string): string | undefined {
    const v = this.flags.get(name);
    if (v === undefined) return fallback;
    if (v === true) throw new UsageError(`--${name} needs a value`);
    return v;
  }

  required(name: string): string {
    const v = this.string(name);
    if (v === undefined) throw new UsageError(`--${name} is required`);
    return v;
  }

  number(name: string): number | undefined;
  number(name: string, fallback: number): number;
  number(name: string, fallback?: number): number | undefined {
    const v = this.string(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${v}"`);
    return n;
  }

  choice<T extends string>(name: string, options: readonly T[], fallback: T): T {
    const v = this.string(name, fallback);
    if (!(options as readonly string[]).includes(v)) {
      throw new UsageError(`--${name} must be one of ${options.join(", ")}; got "${v}"`);
    }
    return v as T;
  }
}

/** A command of the CLI or a bench suite: takes parsed args, returns the JSON result. */
export type Command = (args: Args) => Promise<Record<string, unknown>>;

/**
 * Runs a command from a registry. Progress goes to stderr; with --json the last stdout line is one JSON
 * object (on failure `{ "error": ... }` and exit code 1, or 2 for usage errors).
 */
export async function runCommand(
  program: string,
  registry: Record<string, () => Promise<{ default: Command }>>,
  argv: string[],
): Promise<void> {
  const [name, ...rest] = argv;
  const args = new Args(rest);
  const json = args.has("json");
  const load = name ? registry[name] : undefined;
  if (!load) {
    const msg = `usage: npm run ${program} -- <${Object.keys(registry).join("|")}> [options] [--json]`;
    if (json) console.log(JSON.stringify({ error: msg }));
    else console.error(msg);
    process.exitCode = 2;
    return;
  }
  try {
    const { default: command } = await load();
    const result = await command(args);
    console.log(json ? JSON.stringify(result) : JSON.stringify(result, null, 2));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (json) console.log(JSON.stringify({ error: message }));
    console.error(`${program} ${name}: ${message}`);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  }
}
