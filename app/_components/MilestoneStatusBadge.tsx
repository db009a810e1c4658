import type { MilestoneStatus } from "@/db/schema";

export const milestoneStatuses: readonly MilestoneStatus[] = ["planned", "in-progress", "done", "blocked"];

export function MilestoneStatusBadge({ status }: { status: MilestoneStatus }) {
  return (
    <span className={`badge milestone-${status}`} data-status={status}>
      <span className="dot" aria-hidden="true" />
      {status}
    </span>
  );
}
