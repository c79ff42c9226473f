import { assert, assertEquals } from "../assert.ts";
import { isValidStreamName, streamIdentity, streamNameProblem } from "../../lib/storage/key.ts";

Deno.test("streamNameProblem refuses traversal, separators, look-alikes and invisible characters", () => {
  const bad: [string, string][] = [
    ["", "must not be empty"],
    [".", `no "..", and no "." first or last`],
    ["..", `no ".."`],
    ["...", `no ".."`],
    [".hidden", `no "." first`],
    ["cam.", `last`],
    ["a..b", `no ".."`],
    ["a/b", "letters, digits"],
    ["a\\b", "letters, digits"],
    ["a\0b", "letters, digits"],
    ["a b", "letters, digits"],
    ["a\nb", "letters, digits"],
    ["\uff0e\uff0e", "letters, digits"], // fullwidth full stops
    ["a\uff0fb", "letters, digits"], // fullwidth solidus
    ["a\u2215b", "letters, digits"], // division slash
    ["cam\u202e1", "letters, digits"], // right-to-left override
    ["cam\u200d1", "letters, digits"], // zero-width joiner
    ["e\u0301", "letters, digits"], // a combining accent
    ["ｃａｍ１", "NFKC"], // fullwidth letters look like "cam1"
    ["ﬁle", "NFKC"], // a ligature
    ["x²", "NFKC"],
    ["CON", "reserved device name"],
    ["nul.cam", "reserved device name"],
    ["lpt1", "reserved device name"],
    ["x".repeat(201), "longer than 200 bytes"],
    ["直".repeat(67), "longer than 200 bytes"], // 201 bytes of UTF-8
  ];
  for (const [name, why] of bad) {
    const problem = streamNameProblem(name);
    assert(problem?.includes(why), `${JSON.stringify(name)}: ${problem}`);
    assert(!isValidStreamName(name));
  }
  for (const good of ["cam1", "web-cam_2", "é-caméra", "直播", "a.b", "x".repeat(200), "console"]) {
    assertEquals(streamNameProblem(good), undefined, good);
  }
});

Deno.test("streamIdentity is shared by names a case-insensitive file system stores in one place", () => {
  assertEquals(streamIdentity("Cam1"), streamIdentity("cam1"));
  assertEquals(streamIdentity("CAMÉRA"), streamIdentity("caméra"));
  assertEquals(streamIdentity("STRASSE"), streamIdentity("straße"));
  assert(streamIdentity("cam1") !== streamIdentity("cam2"));
});
