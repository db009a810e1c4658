import type { RunStatus } from "@/db/schema";

const labels: Record<RunStatus, string> = {
  queued: "queued",
  running: "running",
  finished: "finished",
  failed: "failed",
  killed: "killed",
  crashed: "crashed",
};

export function StatusBadge({ status }: { status: RunStatus | string }) {
  return (
    <span className={`badge status-${status}`} data-status={status}>
      <span className="dot" aria-hidden="true" />
      {labels[status as RunStatus] ?? status}
    </span>
  );
}
