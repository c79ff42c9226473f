import assert from "node:assert/strict";
import { ConfigError } from "../../lib/errors.ts";
import { parseConfig } from "../../lib/config/mod.ts";

const FILE = "/etc/live777/live777.toml";

/** Expects a ConfigError naming `key`; returns the message after "file: key: ". */
function configError(text: string, key: string): string {
  try {
    parseConfig(text, FILE);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `Expected a ConfigError, got ${error}`);
    assert.equal(error.key, key);
    const prefix = `${FILE}: ${key}: `;
    assert.ok(error.message.startsWith(prefix), error.message);
    const text = error.message.slice(prefix.length);
    assert.match(text, /^[A-Z]/, `Not capitalised: ${error.message}`);
    assert.ok(!text.endsWith("."), `Trailing period: ${error.message}`);
    return text;
  }
  throw new Error(`Expected a ConfigError for ${key}`);
}

Deno.test("parseConfig gives [liveman] its defaults", () => {
  assert.deepEqual(parseConfig("", FILE).liveman, {
    listen: "0.0.0.0:8888",
    database: "sqlite:./liveman.db",
  });
  assert.deepEqual(parseConfig("[liveman]\n", FILE).liveman, {
    listen: "0.0.0.0:8888",
    database: "sqlite:./liveman.db",
    token: undefined,
  });
});

Deno.test("parseConfig reads [liveman] and no longer lists it as ignored", () => {
  const config = parseConfig(
    `[liveman]\nlisten = "127.0.0.1:9999"\ndatabase = "postgres://lm:pw@db:5432/liveman"\n` +
      `token = "report-secret"\n[database]\nurl = "x"\n`,
    FILE,
  );
  assert.deepEqual(config.liveman, {
    listen: "127.0.0.1:9999",
    database: "postgres://lm:pw@db:5432/liveman",
    token: "report-secret",
  });
  assert.deepEqual(config.ignoredSections, ["database"]);
  for (const database of ["sqlite::memory:", "sqlite:/var/lib/liveman.db", "postgresql://h/db"]) {
    assert.equal(
      parseConfig(`[liveman]\ndatabase = "${database}"\n`, FILE).liveman.database,
      database,
    );
  }
});

Deno.test("parseConfig names the bad [liveman] key", () => {
  assert.match(
    configError(`[liveman]\nport = 8888\n`, "liveman.port"),
    /^Unknown key \(expected one of: listen, database, token\)$/,
  );
  assert.equal(
    configError(`[liveman]\nlisten = "8888"\n`, "liveman.listen"),
    `Invalid listen address "8888" (expected "host:port")`,
  );
  assert.equal(
    configError(`[liveman]\nlisten = 8888\n`, "liveman.listen"),
    "Expected a string, got 8888",
  );
  assert.equal(configError(`[liveman]\ndatabase = ""\n`, "liveman.database"), "Must not be empty");
  assert.equal(configError(`[liveman]\ntoken = ""\n`, "liveman.token"), "Must not be empty");
  assert.equal(
    configError(`[liveman]\n[liveman.x]\n`, "liveman.x").startsWith("Unknown key"),
    true,
  );
  assert.equal(configError(`liveman = 1\n`, "liveman"), "Expected a table, got 1");
});

Deno.test("parseConfig rejects an unsupported database URL without echoing it", () => {
  for (const url of ["mysql://root:hunter2@db/lm", "sqlite:", "postgres://", "hunter2"]) {
    const text = configError(`[liveman]\ndatabase = "${url}"\n`, "liveman.database");
    assert.equal(
      text,
      `Unsupported database URL (expected "sqlite:<path>" or "postgres://user@host/db")`,
    );
  }
  // A wrong type does not show the value either: the URL may hold a password.
  assert.equal(
    configError(`[liveman]\ndatabase = 12345\n`, "liveman.database"),
    "Expected a string, got an integer",
  );
  assert.equal(
    configError(`[liveman]\ntoken = 12345\n`, "liveman.token"),
    "Expected a string, got an integer",
  );
});
