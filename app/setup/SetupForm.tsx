"use client";
import { useMutation } from "@tanstack/react-query";
import { signIn } from "next-auth/react";
import { useState, type FormEvent } from "react";
import { errorText, fieldErrors } from "@/app/_lib/errors";
import { useTRPC } from "@/app/trpc";
import { Field } from "@/app/_components/Field";
import { PasswordFields } from "@/app/_components/PasswordFields";

export function SetupForm({ token }: { token: string }) {
  const trpc = useTRPC();
  const setup = useMutation(trpc.auth.setup.mutationOptions());
  const [error, setError] = useState("");
  const errs = fieldErrors(setup.error);

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const password = String(form.get("password") ?? "");
    if (password !== String(form.get("confirm") ?? "")) return setError("The passwords do not match.");
    setError("");
    const email = String(form.get("email") ?? "");
    try {
      await setup.mutateAsync({ token, email, name: String(form.get("name") ?? ""), password });
    } catch {
      return;
    }
    const res = await signIn("credentials", { email, password, redirect: false });
    window.location.assign(res?.ok ? "/" : "/signin");
  }

  const busy = setup.isPending || setup.isSuccess;
  return (
    <form method="post" className="stack" onSubmit={onSubmit} aria-label="Create admin account" noValidate>
      <Field label="Name" error={errs.name}>
        <input name="name" autoComplete="name" required autoFocus />
      </Field>
      <Field label="Email" error={errs.email}>
        <input name="email" type="email" autoComplete="username" required />
      </Field>
      <PasswordFields error={errs.password} />
      {(error || (setup.error && !Object.keys(errs).length)) && (
        <p className="alert error" role="alert">
          {error || errorText(setup.error)}
        </p>
      )}
      <button className="btn primary block" type="submit" disabled={busy}>
        {busy ? "Creating…" : "Create admin account"}
      </button>
    </form>
  );
}
