"use client";
import { useQuery } from "@tanstack/react-query";
import { signOut } from "next-auth/react";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { useTRPC } from "@/app/trpc";
import { useMe } from "./Me";

function NavLink({ href, children }: { href: string; children: React.ReactNode }) {
  const pathname = usePathname();
  const active = href === "/" ? pathname === "/" || (pathname.startsWith("/runs/") && pathname !== "/runs/new") : pathname.startsWith(href);
  return (
    <Link href={href} className={active ? "nav-link active" : "nav-link"} aria-current={active ? "page" : undefined}>
      {children}
    </Link>
  );
}

function WorkerPill() {
  const trpc = useTRPC();
  const { data } = useQuery({ ...trpc.system.workers.queryOptions(), refetchInterval: 10_000 });
  if (!data) return null;
  const live = data.filter((w) => w.live);
  const busy = live.filter((w) => w.currentRunId).length;
  const title = live.length
    ? live.map((w) => `${w.host} (pid ${w.pid}) · ${w.backend ?? "?"}${w.currentRunId ? " · busy" : " · idle"}`).join("\n")
    : "No worker is running: queued runs wait until one joins (npm run worker).";
  return (
    <span className={live.length ? "worker-pill" : "worker-pill none"} title={title} aria-label="Workers">
      <span className="dot" aria-hidden="true" />
      {live.length === 0 ? "no workers" : `${live.length} worker${live.length === 1 ? "" : "s"}${busy ? ` · ${busy} busy` : ""}`}
    </span>
  );
}

export function Nav() {
  const me = useMe();
  return (
    <header className="topbar">
      <nav className="topbar-inner" aria-label="Main">
        <Link href="/" className="brand" aria-label="Crackdiff home">
          <svg width="20" height="20" viewBox="0 0 24 24" aria-hidden="true">
            <rect x="2" y="2" width="20" height="20" rx="5" fill="var(--accent)" />
            <path d="M7 5 L11 10 L9 13 L14 17 L13 20" stroke="#fff" strokeWidth="1.8" fill="none" strokeLinecap="round" strokeLinejoin="round" />
          </svg>
          <span className="brand-text">Crackdiff</span>
        </Link>
        <div className="nav-links">
          <NavLink href="/">Runs</NavLink>
          <NavLink href="/runs/new">Launch</NavLink>
          <NavLink href="/plan">Plan</NavLink>
          <NavLink href="/dashboards">Dashboards</NavLink>
          <NavLink href="/sweeps">Sweeps</NavLink>
          <NavLink href="/leaderboards">Leaderboards</NavLink>
          {me.role === "admin" && <NavLink href="/team">Team</NavLink>}
        </div>
        <div className="nav-right">
          <WorkerPill />
          <span className="user" aria-label="Signed in as">
            <span className="user-name" title={me.email}>
              {me.name}
            </span>
            <span className={`role role-${me.role}`}>{me.role}</span>
          </span>
          <button type="button" className="btn ghost small" onClick={() => void signOut({ redirect: false }).finally(() => window.location.assign("/signin"))}>
            Sign out
          </button>
        </div>
      </nav>
    </header>
  );
}
