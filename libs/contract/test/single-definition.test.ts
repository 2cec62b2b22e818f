// Every name two processes share is defined once, in this package: no other source file spells a subject
// (`ccs.down.…`, `${prefix}.out.…`, …), a `Ccs-…` header name, or redefines a shared default.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..", "..");

/** Source files of every package and script except this one (tests and benchmarks are not sources). */
function sourceFiles(): string[] {
  const out = execFileSync(
    "git",
    ["ls-files", "--cached", "--others", "--exclude-standard", "--", "services", "libs", "scripts"],
    { cwd: ROOT, encoding: "utf8" },
  );
  return out
    .split("\n")
    .filter((f) => /\.(ts|mjs)$/.test(f))
    .filter((f) => f.startsWith("scripts/") || /^(services|libs)\/[^/]+\/src\//.test(f))
    .filter((f) => !f.startsWith("libs/contract/"));
}

/** A string or template literal that spells a contract subject under `ccs` or an interpolated prefix. */
const SUBJECT_LITERAL = /["'`][^"'`\n]*(\bccs|\$\{[^}]+\})\.(down|out|internal\.up|up|receipt)\b/;
const HEADER_LITERAL = /["'`]Ccs-[A-Za-z-]+["'`]/;
const SHARED_DEFAULT =
  /export const (DEFAULT_SUBJECT_PREFIX|DEFAULT_KEY_PREFIX|DEFAULT_WORKER_TTL_MS|DEFAULT_WINDOW_SIZE|DEFAULT_WORKER_CONSUMER_PREFIX)\b\s*=/;

function isComment(line: string): boolean {
  const t = line.trim();
  return t.startsWith("//") || t.startsWith("*") || t.startsWith("/*");
}

describe("one definition of each shared name", () => {
  it("finds the files it checks", () => {
    const files = sourceFiles();
    expect(files.some((f) => f.startsWith("services/worker/src/"))).toBe(true);
    expect(files.some((f) => f.startsWith("services/coordinator/src/"))).toBe(true);
    expect(files.some((f) => f.startsWith("scripts/"))).toBe(true);
  });

  it("no subject, header name or shared default is spelled outside @ccs/contract", () => {
    const found: string[] = [];
    for (const file of sourceFiles()) {
      const lines = readFileSync(join(ROOT, file), "utf8").split("\n");
      lines.forEach((line, i) => {
        if (isComment(line)) return;
        if (SUBJECT_LITERAL.test(line) || HEADER_LITERAL.test(line) || SHARED_DEFAULT.test(line)) {
          found.push(`${file}:${i + 1}: ${line.trim()}`);
        }
      });
    }
    expect(found).toEqual([]);
  });

  it("the patterns catch what they are meant to catch", () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: source text under test
    expect(SUBJECT_LITERAL.test("js.publish(`${prefix}.down.${id}`)")).toBe(true);
    expect(SUBJECT_LITERAL.test('sub("ccs.receipt.*")')).toBe(true);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: source text under test
    expect(SUBJECT_LITERAL.test("meter.createCounter(`ccs.worker.${m}`)")).toBe(false);
    expect(HEADER_LITERAL.test('h.set("Ccs-Kind", kind)')).toBe(true);
    expect(SHARED_DEFAULT.test("export const DEFAULT_WINDOW_SIZE = 100;")).toBe(true);
  });
});
