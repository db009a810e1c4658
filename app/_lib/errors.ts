/** Turns API errors into sentences a person can act on. */
import { TRPCClientError } from "@trpc/client";

type ErrorData = { code?: string; httpStatus?: number; fieldErrors?: Record<string, string[] | undefined> | null };

function dataOf(err: unknown): ErrorData | undefined {
  return err instanceof TRPCClientError ? (err.data as ErrorData | undefined) : undefined;
}

/** Per-field messages: from input validation (zod) and from run-config validation ("invalid x config: a: msg; b: msg"). */
export function fieldErrors(err: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const data = dataOf(err);
  for (const [field, messages] of Object.entries(data?.fieldErrors ?? {})) {
    if (messages?.length) out[field] = messages.join("; ");
  }
  const message = err instanceof Error ? err.message : "";
  const m = /^invalid \S+ config: (.*)$/s.exec(message);
  if (m) {
    for (const part of m[1]!.split("; ")) {
      const i = part.indexOf(": ");
      if (i <= 0) continue;
      const field = part.slice(0, i).split(".")[0]!;
      out[`config.${field}`] = out[`config.${field}`] ? `${out[`config.${field}`]}; ${part.slice(i + 2)}` : part.slice(i + 2);
    }
  }
  return out;
}

export function errorText(err: unknown): string {
  if (!err) return "";
  const data = dataOf(err);
  const fields = Object.entries(data?.fieldErrors ?? {}).filter(([, m]) => m?.length);
  if (fields.length) return fields.map(([f, m]) => `${f}: ${m!.join("; ")}`).join(" · ");
  if (data?.code === "FORBIDDEN" && err instanceof Error && !err.message) return "You don't have access to do this.";
  if (err instanceof TRPCClientError && /fetch|network/i.test(err.message) && !data) {
    return "Can't reach the server. Check your connection and try again.";
  }
  return err instanceof Error ? err.message : String(err);
}
