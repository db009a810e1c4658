import { cloneElement, useId, type ReactElement, type ReactNode } from "react";

/**
 * A labelled form control. The label names the control (and only the label: hints and errors are linked
 * with aria-describedby, so "Password" stays "Password" for screen readers and tests).
 */
export function Field({
  label,
  hint,
  error,
  className,
  children,
}: {
  label: ReactNode;
  hint?: ReactNode;
  error?: string;
  className?: string;
  children: ReactElement<Record<string, unknown>>;
}) {
  const id = useId();
  const noteId = `${id}-note`;
  const note = error ?? hint;
  const control = cloneElement(children, {
    id,
    "aria-describedby": note ? noteId : undefined,
    "aria-invalid": error ? true : undefined,
  });
  return (
    <div className={`field${error ? " invalid" : ""}${className ? ` ${className}` : ""}`}>
      <label htmlFor={id}>{label}</label>
      {control}
      {note && (
        <small id={noteId} className={error ? "field-error" : "hint"}>
          {note}
        </small>
      )}
    </div>
  );
}
