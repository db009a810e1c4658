/** The worker pool as the UI shows it. */
import { desc, isNull } from "drizzle-orm";
import { WORKER_TIMEOUT_MS } from "../../db/liveness";
import { workers } from "../../db/schema";
import { protectedProcedure, router } from "../trpc";

export const systemRouter = router({
  workers: protectedProcedure.query(async ({ ctx }) => {
    const rows = await ctx.db.select().from(workers).where(isNull(workers.stoppedAt)).orderBy(desc(workers.heartbeatAt)).limit(100);
    const cutoff = Date.now() - WORKER_TIMEOUT_MS;
    return rows.map((w) => ({ ...w, live: w.heartbeatAt.getTime() > cutoff }));
  }),
});
