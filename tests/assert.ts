/** Minimal assertions for the tests (jsr's @std/assert is not reachable here). */
import { deepStrictEqual, ok } from "node:assert";

/** Fail unless `cond` is truthy. */
export function assert(cond: unknown, msg?: string): asserts cond {
  ok(cond, msg);
}

/** Deep structural equality. */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  deepStrictEqual(actual, expected, msg);
}

/** |actual - expected| <= tol (NaN never passes). */
export function assertAlmostEquals(
  actual: number,
  expected: number,
  tol = 1e-7,
  msg?: string,
): void {
  if (!(Math.abs(actual - expected) <= tol)) {
    throw new Error(`${msg ? msg + ": " : ""}expected ${expected} ± ${tol}, got ${actual}`);
  }
}

/** `fn` throws an instance of `cls` whose message contains `includes`. */
export function assertThrows(
  fn: () => unknown,
  cls: abstract new (...args: never[]) => Error = Error,
  includes?: string,
): Error {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof cls)) throw new Error(`expected ${cls.name}, got ${e}`);
    if (includes !== undefined && !e.message.includes(includes)) {
      throw new Error(`expected an error message containing "${includes}", got "${e.message}"`);
    }
    return e;
  }
  throw new Error(`expected ${cls.name} to be thrown`);
}
