"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Field } from "@/app/_components/Field";
import { useMe } from "@/app/_components/Me";
import { useNow } from "@/app/_components/hooks";
import { errorText, fieldErrors } from "@/app/_lib/errors";
import { absoluteTime, relativeTime } from "@/app/_lib/format";
import { useTRPC } from "@/app/trpc";

const roles = ["admin", "member", "viewer"] as const;
type Role = (typeof roles)[number];
const roleHelp: Record<Role, string> = {
  admin: "everything, including the team",
  member: "launches and manages runs",
  viewer: "read-only",
};

export function Team() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const me = useMe();
  const now = useNow(30_000);
  const users = useQuery(trpc.users.list.queryOptions());
  const update = useMutation(
    trpc.users.update.mutationOptions({ onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.users.list.queryKey() }) }),
  );

  return (
    <div className="stack-lg">
      <div className="page-head">
        <div>
          <h1>Team</h1>
          <p className="muted">Who can use this lab, and what they may do. Role changes apply at once.</p>
        </div>
      </div>

      <section className="card section" aria-label="Members">
        <div className="section-head">
          <h2>Members</h2>
          <span className="muted small">{users.data ? `${users.data.length} account${users.data.length === 1 ? "" : "s"}` : ""}</span>
        </div>
        {users.error && (
          <p className="alert error" role="alert">
            {errorText(users.error)}
          </p>
        )}
        {update.error && (
          <p className="alert error" role="alert">
            {errorText(update.error)}
          </p>
        )}
        <div className="table-wrap">
          <table className="table" aria-label="Team members">
            <thead>
              <tr>
                <th>Name</th>
                <th>Email</th>
                <th>Role</th>
                <th>Status</th>
                <th>Joined</th>
              </tr>
            </thead>
            <tbody>
              {(users.data ?? []).map((u) => {
                const self = u.id === me.id;
                const pending = update.isPending && update.variables?.id === u.id;
                return (
                  <tr key={u.id} className={u.disabled ? "disabled-row" : undefined}>
                    <td>
                      {u.name} {self && <span className="muted small">(you)</span>}
                    </td>
                    <td className="mono small">{u.email}</td>
                    <td>
                      <select
                        value={u.role}
                        aria-label={`Role of ${u.email}`}
                        disabled={pending}
                        onChange={(e) => update.mutate({ id: u.id, role: e.target.value as Role })}
                      >
                        {roles.map((r) => (
                          <option key={r} value={r}>
                            {r}
                          </option>
                        ))}
                      </select>
                    </td>
                    <td>
                      <label className="check">
                        <input
                          type="checkbox"
                          checked={!u.disabled}
                          disabled={pending || self}
                          onChange={(e) => update.mutate({ id: u.id, disabled: !e.target.checked })}
                          aria-label={`${u.email} can sign in`}
                        />
                        <span className={u.disabled ? "muted" : undefined}>{u.disabled ? "disabled" : "active"}</span>
                      </label>
                    </td>
                    <td title={absoluteTime(u.createdAt)}>{relativeTime(u.createdAt, now)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </section>

      <div className="grid-2 align-start">
        <InviteForm />
        <CreateForm />
      </div>
      <Invitations />
    </div>
  );
}

/** Invitations sent, with their state; an open one can be revoked (its link stops working at once). */
function Invitations() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const now = useNow(30_000);
  const invites = useQuery(trpc.users.invites.queryOptions());
  const revoke = useMutation(
    trpc.users.revokeInvite.mutationOptions({ onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.users.invites.queryKey() }) }),
  );
  if (!invites.data?.length) return null;
  const state = (i: (typeof invites.data)[number]) =>
    i.usedAt ? "accepted" : i.revokedAt ? "revoked" : new Date(i.expiresAt).getTime() < now ? "expired" : "open";

  return (
    <section className="card section" aria-label="Invitations">
      <div className="section-head">
        <h2>Invitations</h2>
      </div>
      {(invites.error || revoke.error) && (
        <p className="alert error" role="alert">
          {errorText(invites.error ?? revoke.error)}
        </p>
      )}
      <div className="table-wrap">
        <table className="table" aria-label="Invitations">
          <thead>
            <tr>
              <th>Email</th>
              <th>Role</th>
              <th>Invited by</th>
              <th>Sent</th>
              <th>State</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {invites.data.map((i) => (
              <tr key={i.id}>
                <td className="mono small">{i.email}</td>
                <td>{i.role}</td>
                <td>{i.invitedBy ?? ""}</td>
                <td title={absoluteTime(i.createdAt)}>{relativeTime(i.createdAt, now)}</td>
                <td>{state(i)}</td>
                <td>
                  {state(i) === "open" && (
                    <button
                      type="button"
                      className="btn"
                      disabled={revoke.isPending}
                      aria-label={`Revoke the invitation for ${i.email}`}
                      onClick={() => revoke.mutate({ id: i.id })}
                    >
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function RoleSelect({ name = "role", defaultValue = "member" }: { name?: string; defaultValue?: Role }) {
  return (
    <Field label="Role">
      <select name={name} defaultValue={defaultValue}>
        {roles.map((r) => (
          <option key={r} value={r}>
            {r} — {roleHelp[r]}
          </option>
        ))}
      </select>
    </Field>
  );
}

function InviteForm() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const invite = useMutation(
    trpc.users.invite.mutationOptions({ onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.users.invites.queryKey() }) }),
  );
  const [copied, setCopied] = useState(false);
  const errs = fieldErrors(invite.error);
  const link = invite.data ? `${window.location.origin}/invite/${invite.data.token}` : "";

  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    setCopied(false);
    invite.mutate({ email: String(form.get("email") ?? ""), role: String(form.get("role")) as Role });
  }

  return (
    <section className="card section" aria-label="Invite someone">
      <div className="section-head">
        <h2>Invite someone</h2>
      </div>
      <p className="muted small">They get a link to pick their own name and password. Links work once and expire after 7 days.</p>
      <form method="post" className="stack" onSubmit={onSubmit} noValidate aria-label="Invite">
        <Field label="Email" error={errs.email}>
          <input name="email" type="email" required onChange={() => invite.reset()} />
        </Field>
        <RoleSelect />
        {invite.error && !errs.email && (
          <p className="alert error" role="alert">
            {errorText(invite.error)}
          </p>
        )}
        <button className="btn primary" type="submit" disabled={invite.isPending}>
          {invite.isPending ? "Creating link…" : "Create invitation link"}
        </button>
      </form>
      {invite.data && (
        <div className="invite-result" role="status">
          <div className="field">
            <span className="field-label">Invitation link for {invite.variables?.email}</span>
            <div className="copy-row">
              <input readOnly value={link} aria-label="Invitation link" className="mono" onFocus={(e) => e.currentTarget.select()} />
              <button
                type="button"
                className="btn"
                onClick={() => void navigator.clipboard?.writeText(link).then(() => setCopied(true))}
              >
                {copied ? "Copied" : "Copy"}
              </button>
            </div>
          </div>
          <small className="hint">Expires {absoluteTime(invite.data.expiresAt)}.</small>
        </div>
      )}
    </section>
  );
}

function CreateForm() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const create = useMutation(
    trpc.users.create.mutationOptions({ onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.users.list.queryKey() }) }),
  );
  const errs = fieldErrors(create.error);

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const formEl = e.currentTarget;
    const form = new FormData(formEl);
    try {
      await create.mutateAsync({
        name: String(form.get("name") ?? ""),
        email: String(form.get("email") ?? ""),
        role: String(form.get("role")) as Role,
        password: String(form.get("password") ?? ""),
      });
      formEl.reset();
    } catch {
      // shown below
    }
  }

  return (
    <section className="card section" aria-label="Create an account">
      <div className="section-head">
        <h2>Create an account</h2>
      </div>
      <p className="muted small">Set a first password yourself and hand it over in person.</p>
      <form method="post" className="stack" onSubmit={onSubmit} noValidate aria-label="Create account">
        <div className="grid-2">
          <Field label="Name" error={errs.name}>
            <input name="name" required />
          </Field>
          <Field label="Email" error={errs.email}>
            <input name="email" type="email" required />
          </Field>
        </div>
        <RoleSelect />
        <Field label="Password" hint="At least 10 characters; share it with them privately." error={errs.password}>
          <input name="password" type="text" autoComplete="off" minLength={10} required className="mono" />
        </Field>
        {create.error && !Object.keys(errs).length && (
          <p className="alert error" role="alert">
            {errorText(create.error)}
          </p>
        )}
        {create.data && !create.error && (
          <p className="alert success" role="status">
            Created {create.data.email} ({create.data.role}).
          </p>
        )}
        <button className="btn primary" type="submit" disabled={create.isPending}>
          {create.isPending ? "Creating…" : "Create account"}
        </button>
      </form>
    </section>
  );
}
