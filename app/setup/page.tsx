import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { AuthCard } from "@/app/_components/AuthCard";
import { serverCaller } from "@/app/_lib/server";
import { SetupForm } from "./SetupForm";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Set up" };

export default async function SetupPage() {
  const { setupNeeded } = await (await serverCaller()).auth.status();
  if (!setupNeeded) redirect("/signin");
  return (
    <AuthCard
      title="Set up Crackdiff"
      subtitle="You are the first visitor: create the admin account. You can invite the rest of the team next."
    >
      <SetupForm />
    </AuthCard>
  );
}
