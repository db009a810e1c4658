import type { Metadata } from "next";
import { currentUser } from "@/app/_lib/server";
import { Team } from "./Team";

export const metadata: Metadata = { title: "Team" };

export default async function TeamPage() {
  const me = await currentUser();
  if (me?.role !== "admin") {
    return (
      <div className="empty card">
        <h1>Team</h1>
        <p className="muted">Only an admin can manage the team.</p>
      </div>
    );
  }
  return <Team />;
}
