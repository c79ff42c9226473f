import assert from "node:assert/strict";
import { globToRegExp, matchesAny } from "../../lib/config/glob.ts";

function matches(pattern: string, name: string): boolean {
  return globToRegExp(pattern).test(name);
}

Deno.test("globToRegExp matches any run with *, including an empty one", () => {
  assert.ok(matches("*", ""));
  assert.ok(matches("*", "anything at all"));
  assert.ok(matches("cam*", "cam"));
  assert.ok(matches("cam*", "cam-12"));
  assert.ok(matches("*-hd", "front-hd"));
  assert.ok(matches("a*b*c", "abc"));
  assert.ok(matches("a*b*c", "a-x-b-y-c"));
  assert.ok(!matches("a*b*c", "a-x-b-y-d"));
  assert.ok(!matches("cam*", "xcam"));
  assert.ok(matches("a**b", "ab"));
});

Deno.test("globToRegExp matches exactly one character with ?", () => {
  assert.ok(matches("cam?", "cam1"));
  assert.ok(!matches("cam?", "cam"));
  assert.ok(!matches("cam?", "cam12"));
  assert.ok(matches("??", "é1"));
  assert.ok(matches("?", "😀"));
});

Deno.test("globToRegExp anchors the whole name", () => {
  assert.ok(!matches("web-*", "web"));
  assert.ok(matches("web-*", "web-"));
  assert.ok(matches("web-*", "web-1"));
  assert.ok(!matches("web-*", "my-web-1"));
  assert.ok(!matches("cam", "cam1"));
  assert.ok(!matches("cam", "1cam"));
});

Deno.test("globToRegExp supports character classes and ranges", () => {
  assert.ok(matches("cam[abc]", "camb"));
  assert.ok(!matches("cam[abc]", "camd"));
  assert.ok(matches("cam[0-9]", "cam7"));
  assert.ok(!matches("cam[0-9]", "camx"));
  assert.ok(matches("[a-cx-z]", "y"));
  assert.ok(!matches("[a-cx-z]", "m"));
  assert.ok(matches("[-a]", "-"));
  assert.ok(matches("[a-]", "-"));
  assert.ok(!matches("[a-]", "b"));
  assert.ok(matches("[]a]", "]"));
  assert.ok(matches("[.]", "."));
  assert.ok(!matches("[.]", "x"));
});

Deno.test("globToRegExp negates a class with ! or ^", () => {
  assert.ok(matches("cam[!0-9]", "camx"));
  assert.ok(!matches("cam[!0-9]", "cam5"));
  assert.ok(matches("[^a]", "b"));
  assert.ok(!matches("[^a]", "a"));
  assert.ok(!matches("[!a]", ""));
});

Deno.test("globToRegExp treats escaped and regexp characters literally", () => {
  assert.ok(matches("a\\*b", "a*b"));
  assert.ok(!matches("a\\*b", "axxb"));
  assert.ok(matches("a\\?", "a?"));
  assert.ok(!matches("a\\?", "ab"));
  assert.ok(matches("\\[x]", "[x]"));
  assert.ok(matches("[\\]]", "]"));
  assert.ok(matches("cam.1", "cam.1"));
  assert.ok(!matches("cam.1", "camx1"));
  assert.ok(matches("a+b(c)|d$^{1}/", "a+b(c)|d$^{1}/"));
  assert.ok(!matches("a+b", "aab"));
});

Deno.test("globToRegExp rejects an unclosed class, a reversed range and a trailing backslash", () => {
  assert.throws(() => globToRegExp("cam[12"), { name: "SyntaxError", message: /Unclosed "\["/ });
  assert.throws(() => globToRegExp("[!"), { name: "SyntaxError", message: /Unclosed/ });
  assert.throws(() => globToRegExp("[]"), { name: "SyntaxError", message: /Unclosed/ });
  assert.throws(() => globToRegExp("[z-a]"), { name: "SyntaxError", message: /Reversed range/ });
  assert.throws(() => globToRegExp("cam\\"), { name: "SyntaxError", message: /backslash/ });
});

Deno.test("matchesAny is true when any pattern matches", () => {
  assert.ok(matchesAny(["web-*", "cam?"], "web-1"));
  assert.ok(matchesAny(["web-*", "cam?"], "cam2"));
  assert.ok(!matchesAny(["web-*", "cam?"], "web"));
  assert.ok(!matchesAny([], "anything"));
  // Cached patterns give the same answers the second time.
  assert.ok(matchesAny(["web-*", "cam?"], "cam3"));
  assert.ok(!matchesAny(["web-*", "cam?"], "cam33"));
});
