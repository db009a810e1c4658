import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { AuthCard } from "@/app/_components/AuthCard";
import { serverCaller } from "@/app/_lib/server";
import { SetupForm } from "./SetupForm";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Set up" };

export default async function SetupPage({ searchParams }: { searchParams: Promise<{ token?: string | string[] }> }) {
  const { setupNeeded } = await (await serverCaller()).auth.status();
  if (!setupNeeded) redirect("/signin");
  const { token } = await searchParams;
  if (typeof token !== "string" || !token) {
    return (
      <AuthCard title="Set up Crackdiff" subtitle="This lab has no accounts yet.">
        <p role="status">
          Open the set-up link that <code>npm start</code> printed in its terminal (it ends in <code>/setup?token=…</code>). Only
          someone with that link can create the admin account.
        </p>
      </AuthCard>
    );
  }
  return (
    <AuthCard
      title="Set up Crackdiff"
      subtitle="You are the first visitor: create the admin account. You can invite the rest of the team next."
    >
      <SetupForm token={token} />
    </AuthCard>
  );
}
