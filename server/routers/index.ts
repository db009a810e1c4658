import { router } from "../trpc";
import { authRouter } from "./auth";
import { leaderboardsRouter } from "./leaderboards";
import { runsRouter } from "./runs";
import { sweepsRouter } from "./sweeps";
import { systemRouter } from "./system";
import { usersRouter } from "./users";

export const appRouter = router({
  auth: authRouter,
  users: usersRouter,
  runs: runsRouter,
  sweeps: sweepsRouter,
  leaderboards: leaderboardsRouter,
  system: systemRouter,
});

export type AppRouter = typeof appRouter;
