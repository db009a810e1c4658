import { Field } from "./Field";

/** New password + confirmation, with the server's rule stated up front. */
export function PasswordFields({ error }: { error?: string }) {
  return (
    <>
      <Field label="Password" hint="At least 10 characters." error={error}>
        <input name="password" type="password" autoComplete="new-password" minLength={10} required />
      </Field>
      <Field label="Confirm password">
        <input name="confirm" type="password" autoComplete="new-password" required />
      </Field>
    </>
  );
}
