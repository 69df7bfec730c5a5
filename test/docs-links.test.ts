/**
 * Every relative link in the repository's Markdown points at a file that exists and, with a
 * `#fragment`, at a heading that file has: a reader who follows the docs never lands on nothing.
 * External links (with a scheme) are not checked: nothing may be fetched while testing.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The Markdown files git tracks (so node_modules and build output never count). */
function markdownFiles(): string[] {
  return execFileSync("git", ["ls-files", "*.md"], { cwd: root, encoding: "utf8" })
    .split("\n")
    .filter((f) => f !== "");
}

/** Markdown without its fenced code blocks, where a `#` line is not a heading. */
function unfenced(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "");
}

/** Text outside code blocks and inline code, where `[a](b)` is not a link. */
function prose(markdown: string): string {
  return unfenced(markdown).replace(/`[^`\n]*`/g, "");
}

/**
 * GitHub's anchor for a heading: its text lower-cased, punctuation other than `-` and `_`
 * dropped, spaces to hyphens.
 */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[`*]/g, "")
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** The anchors a Markdown file offers: one per heading, repeats numbered as GitHub does. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const [, text] of unfenced(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug(text!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Relative link targets in a Markdown file: inline links and images. */
function links(markdown: string): string[] {
  const out: string[] = [];
  for (const [, target] of prose(markdown).matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    if (!/^[a-z][a-z0-9+.-]*:/i.test(target!)) out.push(target!);
  }
  return out;
}

describe("Markdown links", () => {
  it("finds the docs and their links (the check below is not vacuous)", () => {
    const files = markdownFiles();
    expect(files).toContain("README.md");
    expect(files.flatMap((f) => links(readFileSync(join(root, f), "utf8"))).length).toBeGreaterThan(
      10,
    );
  });

  it("reads links and anchors as GitHub renders them", () => {
    expect(links("see [a](b.md#c), ![x](y.svg) and `[no](z.md)`, [w](https://e.org)")).toEqual([
      "b.md#c",
      "y.svg",
    ]);
    expect([
      ...anchors("# Traffic shaping (client)\n## A run\n## A run\n### The `response_size`\n"),
    ]).toEqual(["traffic-shaping-client", "a-run", "a-run-1", "the-response_size"]);
  });

  it("every relative link leads to an existing file and heading", () => {
    const broken: string[] = [];
    for (const file of markdownFiles()) {
      const text = readFileSync(join(root, file), "utf8");
      for (const target of links(text)) {
        const [path, fragment] = target.split("#", 2) as [string, string | undefined];
        const dest = path === "" ? join(root, file) : resolve(root, dirname(file), path);
        if (!existsSync(dest)) {
          broken.push(`${file}: ${target} (no ${relative(root, dest)})`);
          continue;
        }
        if (fragment === undefined || !dest.endsWith(".md") || statSync(dest).isDirectory())
          continue;
        if (!anchors(readFileSync(dest, "utf8")).has(decodeURIComponent(fragment))) {
          broken.push(`${file}: ${target} (no heading #${fragment})`);
        }
      }
    }
    expect(broken).toEqual([]);
  });
});
