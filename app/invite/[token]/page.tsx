import type { Metadata } from "next";
import { AuthCard } from "@/app/_components/AuthCard";
import { serverCaller } from "@/app/_lib/server";
import { InviteForm } from "./InviteForm";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Join the lab" };

export default async function InvitePage({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  const invite = await (await serverCaller()).auth.invite({ token }).catch(() => null);
  if (!invite) {
    return (
      <AuthCard title="Invitation not valid" subtitle="This invitation link is invalid, already used or expired.">
        <p className="muted">Ask a lab admin for a new link, or sign in if you already have an account.</p>
        <a className="btn block" href="/signin">
          Go to sign in
        </a>
      </AuthCard>
    );
  }
  return (
    <AuthCard
      title="Join the lab"
      subtitle={
        <>
          You were invited as <strong>{invite.role}</strong> with <strong>{invite.email}</strong>. Pick your name and a password.
        </>
      }
    >
      <InviteForm token={token} email={invite.email} />
    </AuthCard>
  );
}
