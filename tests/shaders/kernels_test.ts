/**
 * Kernel keys: the runtime caches one pipeline per key and builds the WGSL text only on a miss,
 * so two kernels with one key must have one text (else a dispatch would run the wrong code),
 * and one text should have one key (else a pipeline is compiled twice).
 */
import { assert } from "../assert.ts";
import { allKernels } from "./all_kernels.ts";

Deno.test("kernel keys: equal keys have equal WGSL text and equal texts equal keys", () => {
  const textOf = new Map<string, string>();
  const keyOf = new Map<string, string>();
  for (const k of allKernels()) {
    const text = k.wgsl();
    const seenText = textOf.get(k.key);
    assert(seenText === undefined || seenText === text, `key ${k.key} names two different texts`);
    const seenKey = keyOf.get(text);
    assert(seenKey === undefined || seenKey === k.key, `${seenKey} and ${k.key} are one text`);
    textOf.set(k.key, text);
    keyOf.set(text, k.key);
  }
  assert(textOf.size > 200, `only ${textOf.size} distinct kernels built`);
});

Deno.test("kernel keys are short: a family and its parameters, '/'-separated", () => {
  for (const k of allKernels()) {
    assert(/^[a-z][\w.]*(\/[\w.]+)*$/i.test(k.key), `malformed key "${k.key}"`);
    assert(k.key.length <= 48, `key "${k.key}" is long`);
  }
});
