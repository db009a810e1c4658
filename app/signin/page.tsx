import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { AuthCard, safeCallback } from "@/app/_components/AuthCard";
import { currentUser, serverCaller } from "@/app/_lib/server";
import { SignInForm } from "./SignInForm";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Sign in" };

export default async function SignInPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const params = await searchParams;
  const callbackUrl = safeCallback(params.callbackUrl);
  if (await currentUser()) redirect(callbackUrl);
  const { setupNeeded } = await (await serverCaller()).auth.status();
  if (setupNeeded) redirect("/setup");
  return (
    <AuthCard title="Sign in" subtitle="Welcome back to the lab.">
      <SignInForm callbackUrl={callbackUrl} nextAuthError={typeof params.error === "string" ? params.error : undefined} />
    </AuthCard>
  );
}
