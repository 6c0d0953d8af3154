/**
 * Just enough of `Deno` for the WebGPU test modules to register their tests in a browser page:
 * `Deno.test` collects them (run by parity_entry.ts) and `Deno.env.get` sees no variables.
 * Imported first, so it is in place before those modules run.
 */

/** A collected test. */
export interface CollectedTest {
  /** Its name. */
  name: string;
  /** Whether it asked to be skipped. */
  ignore: boolean;
  /** Its body. */
  fn: () => Promise<void> | void;
}

/** Every test registered so far. */
export const collected: CollectedTest[] = [];

type TestDef = { name: string; ignore?: boolean; fn: () => Promise<void> | void };

const shim = {
  test(def: TestDef | string, fn?: () => Promise<void> | void): void {
    if (typeof def === "string") collected.push({ name: def, ignore: false, fn: fn! });
    else collected.push({ name: def.name, ignore: def.ignore ?? false, fn: def.fn });
  },
  env: { get: (_name: string): string | undefined => undefined },
};

if (!("Deno" in globalThis)) Object.defineProperty(globalThis, "Deno", { value: shim });
