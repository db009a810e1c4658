/** What `npm start` hands its worker processes: the web server's environment without its secrets. */
import os from "node:os";

/** Workers reach only the database; a compromised run must not be able to forge sessions or claim set-up. */
const WEB_ONLY = ["NEXTAUTH_SECRET", "AUTH_SECRET", "CRACKDIFF_SETUP_TOKEN"] as const;

export function workerEnvironment(webEnv: NodeJS.ProcessEnv, workerCount: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...webEnv };
  for (const name of WEB_ONLY) delete env[name];
  // Several workers on one machine share its cores instead of each starting a thread per core.
  env.CRACKDIFF_THREADS = webEnv.CRACKDIFF_THREADS ?? String(Math.max(1, Math.floor(os.availableParallelism() / workerCount)));
  return env;
}
