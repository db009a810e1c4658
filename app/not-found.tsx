import Link from "next/link";

export default function NotFound() {
  return (
    <main className="auth-page">
      <div className="auth-card">
        <h1>Not found</h1>
        <p className="muted">There is nothing at this address.</p>
        <Link className="btn block" href="/">
          Back to runs
        </Link>
      </div>
    </main>
  );
}
