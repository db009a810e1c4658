/**
 * A dashboard opened through a view-only share link: no account, no navigation, nothing but what the link's
 * dashboard references. The link is checked on every request, so a revoked one stops working at once.
 */
import type { Metadata } from "next";
import { TRPCError } from "@trpc/server";
import { serverCaller } from "@/app/_lib/server";
import { SharedDashboard } from "./SharedDashboard";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Shared dashboard", robots: { index: false } };

export default async function SharePage({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  const shared = await (await serverCaller()).share.view({ token }).catch((err: unknown) => {
    if (err instanceof TRPCError) return err;
    throw err;
  });
  if (shared instanceof TRPCError) {
    return (
      <main className="auth-page">
        <div className="auth-card" role="alert" aria-label="Share link refused">
          <h1>This link does not open anything</h1>
          <p className="muted">{shared.message.replace(/^this/, "This")}. Ask the person who shared it for a new one.</p>
        </div>
      </main>
    );
  }
  return <SharedDashboard token={token} dashboard={shared.dashboard} expiresAt={shared.expiresAt} />;
}
