"use client";
import { useMutation } from "@tanstack/react-query";
import { signIn } from "next-auth/react";
import { useState, type FormEvent } from "react";
import { Field } from "@/app/_components/Field";
import { PasswordFields } from "@/app/_components/PasswordFields";
import { errorText, fieldErrors } from "@/app/_lib/errors";
import { useTRPC } from "@/app/trpc";

export function InviteForm({ token, email }: { token: string; email: string }) {
  const trpc = useTRPC();
  const accept = useMutation(trpc.auth.acceptInvite.mutationOptions());
  const [error, setError] = useState("");
  const errs = fieldErrors(accept.error);

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const password = String(form.get("password") ?? "");
    if (password !== String(form.get("confirm") ?? "")) return setError("The passwords do not match.");
    setError("");
    try {
      await accept.mutateAsync({ token, name: String(form.get("name") ?? ""), password });
    } catch {
      return;
    }
    const res = await signIn("credentials", { email, password, redirect: false });
    window.location.assign(res?.ok ? "/" : "/signin");
  }

  const busy = accept.isPending || accept.isSuccess;
  return (
    <form method="post" className="stack" onSubmit={onSubmit} aria-label="Accept invitation" noValidate>
      <Field label="Email">
        <input value={email} readOnly disabled />
      </Field>
      <Field label="Name" error={errs.name}>
        <input name="name" autoComplete="name" required autoFocus />
      </Field>
      <PasswordFields error={errs.password} />
      {(error || (accept.error && !Object.keys(errs).length)) && (
        <p className="alert error" role="alert">
          {error || errorText(accept.error)}
        </p>
      )}
      <button className="btn primary block" type="submit" disabled={busy}>
        {busy ? "Joining…" : "Join and sign in"}
      </button>
    </form>
  );
}
