/**
 * Deno-std-style assertions on top of `node:assert/strict` (JSR's @std/assert is unreachable
 * here).
 * @module
 */

import nodeAssert from "node:assert/strict";

/** Throws unless `condition` is truthy. */
export function assert(condition: unknown, message?: string): asserts condition {
  nodeAssert.ok(condition, message);
}

/** Deep strict equality. */
export function assertEquals<T>(actual: unknown, expected: T, message?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, message);
}

type ErrorClass = new (...args: never[]) => Error;

function check(error: unknown, ErrorType?: ErrorClass, includes?: string): void {
  if (ErrorType && !(error instanceof ErrorType)) {
    throw new Error(`Expected ${ErrorType.name}, got ${String(error)}`);
  }
  if (includes && !(error as Error).message.includes(includes)) {
    throw new Error(
      `Expected the message to include ${JSON.stringify(includes)}: ${(error as Error).message}`,
    );
  }
}

/** Throws unless `fn` throws (an `ErrorType` whose message includes `includes`); returns it. */
export function assertThrows(fn: () => unknown, ErrorType?: ErrorClass, includes?: string): Error {
  try {
    fn();
  } catch (error) {
    check(error, ErrorType, includes);
    return error as Error;
  }
  throw new Error("Expected the function to throw");
}

/** Async {@linkcode assertThrows}. */
export async function assertRejects(
  fn: () => Promise<unknown>,
  ErrorType?: ErrorClass,
  includes?: string,
): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    check(error, ErrorType, includes);
    return error as Error;
  }
  throw new Error("Expected the promise to reject");
}
