import type { ReactNode } from "react";
import { MeProvider } from "@/app/_components/Me";
import { Nav } from "@/app/_components/Nav";
import { requireUser } from "@/app/_lib/server";

export const dynamic = "force-dynamic";

/** Every lab page: signed-in users only, with the top navigation. */
export default async function LabLayout({ children }: { children: ReactNode }) {
  const user = await requireUser();
  return (
    <MeProvider user={user}>
      <Nav />
      <main className="page">{children}</main>
    </MeProvider>
  );
}
