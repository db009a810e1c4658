"use client";
import { signIn } from "next-auth/react";
import { useState, type FormEvent } from "react";
import { Field } from "@/app/_components/Field";

export function SignInForm({ callbackUrl, nextAuthError }: { callbackUrl: string; nextAuthError?: string }) {
  const [error, setError] = useState(nextAuthError ? "Wrong email or password." : "");
  const [busy, setBusy] = useState(false);

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    setBusy(true);
    setError("");
    const res = await signIn("credentials", {
      email: String(form.get("email") ?? ""),
      password: String(form.get("password") ?? ""),
      redirect: false,
    }).catch(() => undefined);
    if (!res || res.error || !res.ok) {
      setBusy(false);
      const wrong = res?.error === "CredentialsSignin" || res?.status === 401;
      // Other refusals (too many attempts) come with their own message.
      setError(wrong ? "Wrong email or password." : res?.error ? `Sign-in refused: ${res.error}.` : "Sign-in failed; try again.");
      return;
    }
    // A full load, so the server renders the lab with the new session.
    window.location.assign(callbackUrl);
  }

  return (
    <form method="post" className="stack" onSubmit={onSubmit} aria-label="Sign in">
      <Field label="Email">
        <input name="email" type="email" autoComplete="username" required autoFocus />
      </Field>
      <Field label="Password">
        <input name="password" type="password" autoComplete="current-password" required />
      </Field>
      {error && (
        <p className="alert error" role="alert">
          {error}
        </p>
      )}
      <button className="btn primary block" type="submit" disabled={busy}>
        {busy ? "Signing in…" : "Sign in"}
      </button>
      <p className="muted small">No account? Ask a lab admin for an invitation link.</p>
    </form>
  );
}
