/**
 * Bad input, property-based (fast-check): every procedure that takes input, enumerated from the router, is
 * called as an admin (who reaches every handler) with inputs derived from its own schema but hostile —
 * wrong types, missing and extra fields, oversized text, unicode, NUL characters, huge and non-finite numbers.
 * Each must answer with a clear client error (never INTERNAL_SERVER_ERROR), and a refused call changes nothing
 * in the database. The tRPC route handler gets malformed HTTP bodies too.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { TRPCError } from "@trpc/server";
import { ZodError, type ZodType } from "zod";
import { services } from "../../server/services";
import { runConfigs } from "../../workers/ml/config";
import { allProcedures, startLab, validInputs, type Lab } from "../helpers/lab";

let lab: Lab;
const RUNS = Number(process.env.CRACKDIFF_PROPERTY_RUNS ?? 60);

/** The fields of an object schema, through defaults, optionals, refinements and pipes. */
function objectShape(schema: ZodType): Record<string, ZodType> {
  const def = defOf(schema);
  if (def.shape) return def.shape;
  const inner = def.innerType ?? def.in;
  return inner ? objectShape(inner) : {};
}

/** Keys any run config knows, so generated configs often reach the per-kind validation. */
const configKeys = () => [...new Set(Object.values(runConfigs).flatMap((schema) => Object.keys(objectShape(schema))))];

const hostileText = fc.oneof(
  fc.string(),
  fc.string().map((s) => `${s}\u0000${s}`), // Postgres text cannot hold NUL
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }), // lone surrogates, control characters
  fc.constantFrom("\u0000", "a\u0000b", "%_\\", "'; drop table users; --", "../../etc/passwd", "\u202e\u0301", "😀".repeat(50)),
  fc.string({ minLength: 5_000, maxLength: 20_000 }), // oversized
  fc.uuid(),
);
const hostileNumber = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -1, 2 ** 31, 2 ** 53, -(2 ** 63), Number.MAX_VALUE, Number.NaN, Number.POSITIVE_INFINITY),
);
const hostile: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: hostileText },
  { weight: 2, arbitrary: hostileNumber },
  { weight: 2, arbitrary: fc.anything({ maxDepth: 2, withBigInt: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true }) },
  { weight: 1, arbitrary: fc.constantFrom(null, undefined, true, [], {}) },
);

type Def = {
  type: string;
  shape?: Record<string, ZodType>;
  entries?: Record<string, string>;
  element?: ZodType;
  innerType?: ZodType;
  options?: ZodType[];
  valueType?: ZodType;
  in?: ZodType;
  values?: unknown[];
};
const defOf = (schema: ZodType) => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** Values for a schema: mostly shaped like it (so they get past the first check), often not at all. */
function arbitraryFor(schema: ZodType, depth = 0): fc.Arbitrary<unknown> {
  const def = defOf(schema);
  let shaped: fc.Arbitrary<unknown>;
  switch (def.type) {
    case "object": {
      const fields = Object.fromEntries(Object.entries(def.shape!).map(([k, v]) => [k, arbitraryFor(v, depth + 1)]));
      shaped = fc.tuple(fc.record(fields, { requiredKeys: [] }), fc.dictionary(fc.string({ maxLength: 8 }), hostile, { maxKeys: 2 })).map(([known, extra]) => ({ ...extra, ...known }));
      break;
    }
    case "enum":
      shaped = fc.constantFrom(...Object.values(def.entries!));
      break;
    case "literal":
      shaped = fc.constantFrom(...(def.values ?? [null]));
      break;
    case "array":
      shaped = fc.array(arbitraryFor(def.element!, depth + 1), { maxLength: depth > 2 ? 3 : 60 });
      break;
    case "record":
      // Run configs: their real keys with hostile values, so each kind's own validation is exercised.
      shaped = fc.oneof(
        fc.constant({}), // the defaults: a valid config, so the rest of the input reaches the database
        fc.dictionary(fc.oneof(fc.constantFrom(...configKeys()), fc.string({ maxLength: 10 })), fc.oneof(hostile, fc.dictionary(fc.constantFrom("folder", "synthetic", "count", "size"), hostile)), { maxKeys: 6 }),
      );
      break;
    case "default":
    case "optional":
    case "nullable":
      shaped = fc.oneof(fc.constant(undefined), arbitraryFor(def.innerType!, depth));
      break;
    case "pipe":
      shaped = arbitraryFor(def.in!, depth);
      break;
    case "union":
      shaped = fc.oneof(...def.options!.map((o) => arbitraryFor(o, depth + 1)));
      break;
    case "string":
      shaped = hostileText;
      break;
    case "number":
    case "int":
      shaped = hostileNumber;
      break;
    case "boolean":
      shaped = fc.boolean();
      break;
    default:
      shaped = hostile;
  }
  return depth > 4 ? shaped : fc.oneof({ weight: 4, arbitrary: shaped }, { weight: 1, arbitrary: hostile });
}

/** A digest of every table the procedures can touch (the app's and the queue's jobs). */
async function databaseDigest(): Promise<string> {
  const { sql } = services();
  const tables = await sql<{ name: string }[]>`
    select format('%I.%I', table_schema, table_name) as name from information_schema.tables
    where table_type = 'BASE TABLE' and (table_schema = 'public' or (table_schema = 'pgboss' and table_name = 'job'))
    order by 1`;
  const parts = await Promise.all(
    tables.map(async ({ name }) => {
      const [row] = await sql.unsafe<{ d: string }[]>(`select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as d from ${name} t`);
      return `${name}:${row!.d}`;
    }),
  );
  return parts.join("\n");
}

const clientErrors = new Set(["BAD_REQUEST", "NOT_FOUND", "CONFLICT", "FORBIDDEN"]);

before(async () => {
  lab = await startLab("crackdiff_inputs");
});

after(async () => {
  await lab?.close();
});

describe("every procedure refuses bad input clearly and changes nothing", () => {
  const withInput = Object.entries(allProcedures()).filter(([, p]) => p._def.inputs.length > 0);

  test("the router was enumerated", () => {
    assert.ok(withInput.length >= 12, `${withInput.length} procedures take input`);
  });

  for (const [name, proc] of withInput) {
    test(name, async () => {
      const [group, procName] = name.split(".") as [string, string];
      const admin = (await lab.caller("admin")) as unknown as Record<string, Record<string, (input: unknown) => Promise<unknown>>>;
      const call = admin[group]![procName]!;
      const schema = proc._def.inputs[0] as ZodType;
      const valid = validInputs(lab)[name];
      assert.ok(valid, `${name} takes input: add a valid one to validInputs (test/helpers/lab.ts)`);
      // A valid input with one field replaced: everything else passes, so the bad field reaches as far as it can.
      const shape = objectShape(schema);
      const oneFieldWrong = fc
        .constantFrom(...Object.keys(shape))
        .chain((key) => arbitraryFor(shape[key]!).map((value) => ({ ...(valid() as object), [key]: value })));
      const inputs = fc.oneof(
        { weight: 4, arbitrary: oneFieldWrong },
        { weight: 2, arbitrary: arbitraryFor(schema) },
        { weight: 1, arbitrary: hostile },
      );
      await fc.assert(
        fc.asyncProperty(inputs, async (input) => {
          const before = await databaseDigest();
          try {
            await call(input);
            return; // accepted: a valid input did what it should
          } catch (err) {
            assert.ok(err instanceof TRPCError, `${name}: not a TRPCError: ${String(err)}`);
            assert.notEqual(err.code, "INTERNAL_SERVER_ERROR", `${name} failed inside: ${err.message}\n${err.cause instanceof Error ? err.cause.stack : ""}`);
            assert.ok(clientErrors.has(err.code), `${name}: unexpected ${err.code}`);
            assert.ok(err.message.trim().length > 0, `${name}: ${err.code} without a message`);
            if (err.cause instanceof ZodError) assert.equal(err.code, "BAD_REQUEST");
            assert.equal(await databaseDigest(), before, `${name}: a refused call changed the database`);
          }
        }),
        { numRuns: RUNS },
      );
    });
  }
});

describe("the tRPC route handler answers malformed requests without a 500", () => {
  test("bodies, query strings and paths", async () => {
    const { POST, GET } = await import("../../app/api/trpc/[trpc]/route");
    const cookie = await lab.cookie("admin");
    const before = await databaseDigest();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("runs.launch", "users.create", "runs.list", "auth.setup", "no.such.procedure", "runs.launch,runs.cancel"),
        fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.json(), fc.constantFrom("{", "[]", '{"json":', "null", '{"json":{"kind":"smoke"},"meta":{"values":{"kind":["bigint"]}}}')),
        fc.boolean(),
        async (path, body, asGet) => {
          const url = new URL(`http://lab.test/api/trpc/${path}`);
          if (asGet) url.searchParams.set("input", body);
          const req = new Request(url, {
            method: asGet ? "GET" : "POST",
            headers: { cookie: cookie!, "content-type": "application/json" },
            body: asGet ? undefined : body,
          });
          const res = await (asGet ? GET : POST)(req);
          assert.ok(res.status < 500, `${asGet ? "GET" : "POST"} ${path} ${JSON.stringify(body).slice(0, 80)}: ${res.status} ${(await res.text()).slice(0, 300)}`);
        },
      ),
      { numRuns: RUNS },
    );
    assert.equal(await databaseDigest(), before, "malformed requests changed the database");
  });
});
