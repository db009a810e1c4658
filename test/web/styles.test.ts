/**
 * The stylesheet is well formed: every rule is closed before the next opens (rules nest only inside at-rules).
 * Browsers and the build recover from an unclosed rule silently, by swallowing the rules after it, so a bad
 * merge shows up only as pages that look broken.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";

test("app/globals.css closes every rule it opens", () => {
  const css = readFileSync(path.resolve(__dirname, "../../app/globals.css"), "utf8").replace(/\/\*[\s\S]*?\*\//g, "");
  const open: { head: string; line: number }[] = [];
  css.split("\n").forEach((text, i) => {
    for (const ch of text) {
      if (ch === "{") {
        const parent = open[open.length - 1];
        assert.ok(!parent || parent.head.startsWith("@"), `line ${i + 1}: "${text.trim()}" opens inside "${parent?.head}" (line ${parent?.line}), which is never closed`);
        open.push({ head: text.slice(0, text.indexOf("{")).trim(), line: i + 1 });
      } else if (ch === "}") {
        assert.ok(open.pop(), `line ${i + 1}: a "}" that closes nothing`);
      }
    }
  });
  assert.deepEqual(open, [], "rules left open at the end");
});
