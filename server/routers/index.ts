import { router } from "../trpc";
import { authRouter } from "./auth";
import { runsRouter } from "./runs";
import { systemRouter } from "./system";
import { usersRouter } from "./users";

export const appRouter = router({
  auth: authRouter,
  users: usersRouter,
  runs: runsRouter,
  system: systemRouter,
});

export type AppRouter = typeof appRouter;
