import type { ReactNode } from "react";

/** The centred card the sign-in, set-up and invitation pages share. */
export function AuthCard({ title, subtitle, children }: { title: string; subtitle?: ReactNode; children: ReactNode }) {
  return (
    <main className="auth-page">
      <div className="auth-card">
        <div className="auth-brand">
          <svg width="28" height="28" viewBox="0 0 24 24" aria-hidden="true">
            <rect x="2" y="2" width="20" height="20" rx="5" fill="var(--accent)" />
            <path d="M7 5 L11 10 L9 13 L14 17 L13 20" stroke="#fff" strokeWidth="1.8" fill="none" strokeLinecap="round" strokeLinejoin="round" />
          </svg>
          <span>Crackdiff</span>
        </div>
        <h1>{title}</h1>
        {subtitle && <p className="muted">{subtitle}</p>}
        {children}
      </div>
    </main>
  );
}

/** Only same-site paths, so a crafted link cannot send people elsewhere after sign-in. */
export function safeCallback(url: string | string[] | undefined): string {
  const u = Array.isArray(url) ? url[0] : url;
  if (!u) return "/";
  try {
    // NextAuth passes absolute URLs of this site; keep only their path.
    const parsed = new URL(u, "http://x");
    const path = parsed.pathname + parsed.search + parsed.hash;
    if (!path.startsWith("/") || path.startsWith("//") || path.startsWith("/signin") || path.startsWith("/setup")) return "/";
    return path;
  } catch {
    return "/";
  }
}
