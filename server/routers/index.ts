import { router } from "../trpc";
import { authRouter } from "./auth";
import { dashboardsRouter } from "./dashboards";
import { planRouter } from "./plan";
import { runsRouter } from "./runs";
import { shareRouter } from "./share";
import { leaderboardsRouter } from "./leaderboards";
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
  plan: planRouter,
  dashboards: dashboardsRouter,
  share: shareRouter,
});

export type AppRouter = typeof appRouter;
