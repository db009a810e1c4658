"use client";
import { DashboardView, type LoadedDashboard } from "@/app/_components/DashboardView";

export function SharedDashboard({ token, dashboard, expiresAt }: { token: string; dashboard: LoadedDashboard; expiresAt: Date | null }) {
  return (
    <>
      <header className="topbar">
        <div className="topbar-inner">
          <span className="brand">
            <span className="brand-text">Crackdiff</span>
          </span>
          <span className="muted small share-note">
            View-only shared dashboard{expiresAt ? ` · link expires ${new Date(expiresAt).toLocaleDateString()}` : ""}
          </span>
        </div>
      </header>
      <main className="page stack-lg">
        <div className="page-head">
          <h1>{dashboard.title}</h1>
        </div>
        <DashboardView dashboard={dashboard} mediaSrc={(id) => `/api/media/${id}?share=${encodeURIComponent(token)}`} linkRuns={false} />
      </main>
    </>
  );
}
