/**
 * Turns a run kind's config JSON Schema (from runs.kinds) into form fields and back. Numbers, integers,
 * enums, booleans and strings get their own inputs; anything else (nested objects, arrays, unions) is
 * edited as JSON. Values stay as the text the user typed until submit, so the server can name bad fields.
 */
export interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  description?: string;
  title?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
}

export type FieldKind = "integer" | "number" | "boolean" | "enum" | "string" | "json";

export interface Field {
  name: string;
  kind: FieldKind;
  schema: JsonSchema;
  options: unknown[];
  required: boolean;
  /** "1 – 5000", "> 0, ≤ 1" … */
  range: string;
}

export type FieldValue = string | boolean;

function enumOptions(s: JsonSchema): unknown[] | null {
  if (Array.isArray(s.enum) && s.enum.length) return s.enum;
  const alts = s.anyOf ?? s.oneOf;
  if (alts?.length && alts.every((a) => "const" in a || (Array.isArray(a.enum) && a.enum.length))) {
    return alts.flatMap((a) => ("const" in a ? [a.const] : a.enum!));
  }
  return null;
}

const sensible = (n: number | undefined) => n !== undefined && Math.abs(n) < 1e15;

function rangeText(s: JsonSchema): string {
  const lo = sensible(s.exclusiveMinimum) ? `> ${s.exclusiveMinimum}` : sensible(s.minimum) ? `≥ ${s.minimum}` : "";
  const hi = sensible(s.exclusiveMaximum) ? `< ${s.exclusiveMaximum}` : sensible(s.maximum) ? `≤ ${s.maximum}` : "";
  if (sensible(s.minimum) && sensible(s.maximum)) return `${s.minimum} – ${s.maximum}`;
  return [lo, hi].filter(Boolean).join(", ");
}

/** A one-line picture of a JSON field's accepted shapes, e.g. `{ synthetic } or { folder }`. */
export function shapeHint(s: JsonSchema): string {
  const alts = s.anyOf ?? s.oneOf;
  const one = (a: JsonSchema) => {
    if (a.properties) {
      const req = a.required?.length ? a.required : Object.keys(a.properties);
      return `{ ${req.join(", ")} }`;
    }
    if ("const" in a) return JSON.stringify(a.const);
    return Array.isArray(a.type) ? a.type.join(" | ") : (a.type ?? "any");
  };
  if (alts?.length) return `one of ${alts.map(one).join(" or ")}`;
  if (s.type === "array") return "a JSON array";
  if (s.type === "object") return "a JSON object";
  return "JSON";
}

export function fieldsOf(schema: JsonSchema | undefined): Field[] {
  const props = schema?.properties ?? {};
  const required = new Set(schema?.required ?? []);
  return Object.entries(props).map(([name, s]) => {
    const options = enumOptions(s);
    const type = Array.isArray(s.type) ? (s.type.length === 1 ? s.type[0] : undefined) : s.type;
    let kind: FieldKind = "json";
    if (options) kind = "enum";
    else if (type === "integer") kind = "integer";
    else if (type === "number") kind = "number";
    else if (type === "boolean") kind = "boolean";
    else if (type === "string") kind = "string";
    return { name, kind, schema: s, options: options ?? [], required: required.has(name) && s.default === undefined, range: rangeText(s) };
  });
}

/** The form's text for a config value. */
export function toFieldValue(field: Field, value: unknown): FieldValue {
  if (field.kind === "boolean") return value === true;
  if (value === undefined || value === null) return field.kind === "json" && value === null ? "null" : "";
  if (field.kind === "json") return JSON.stringify(value, null, 2);
  if (field.kind === "enum") return JSON.stringify(value);
  return String(value);
}

export function initialValues(fields: Field[], from?: Record<string, unknown>): Record<string, FieldValue> {
  return Object.fromEntries(fields.map((f) => [f.name, toFieldValue(f, from && f.name in from ? from[f.name] : f.schema.default)]));
}

/**
 * Builds the config to send. Empty inputs are left out (the server applies the default); text that is not
 * a number is sent as typed, so the server's message names the field. JSON that does not parse is a
 * client-side error, keyed like the server's (`config.<field>`).
 */
export function buildConfig(fields: Field[], values: Record<string, FieldValue>): { config: Record<string, unknown>; errors: Record<string, string> } {
  const config: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const f of fields) {
    const v = values[f.name];
    if (f.kind === "boolean") {
      config[f.name] = v === true;
      continue;
    }
    const text = typeof v === "string" ? v.trim() : "";
    if (text === "") continue;
    switch (f.kind) {
      case "integer":
      case "number": {
        const n = Number(text);
        config[f.name] = Number.isFinite(n) ? n : text;
        break;
      }
      case "enum":
        try {
          config[f.name] = JSON.parse(text);
        } catch {
          config[f.name] = text;
        }
        break;
      case "string":
        config[f.name] = typeof v === "string" ? v : "";
        break;
      case "json":
        try {
          config[f.name] = JSON.parse(text);
        } catch (err) {
          errors[`config.${f.name}`] = `not valid JSON (${err instanceof Error ? err.message : String(err)})`;
        }
        break;
    }
  }
  return { config, errors };
}

/** A sweep axis's values as typed: "ddim, ddpm" or "5, 10, 50"; each item is a JSON scalar when it parses as one, else text. */
export function parseValueList(text: string): (string | number | boolean | null)[] {
  return text
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean)
    .map((item) => {
      try {
        const value = JSON.parse(item) as unknown;
        return value === null || ["string", "number", "boolean"].includes(typeof value) ? (value as string | number | boolean | null) : item;
      } catch {
        return item;
      }
    });
}
