/**
 * Deflate bombs against `train`: a `diffraction` member that declares (200000, 64, 64) float32
 * (3.05 GiB) in ~20 MB of deflate is refused in one line, and the process's peak RSS (measured by
 * /usr/bin/time) stays far below the declared size, whether the lie is in the coordinates, the
 * zip directory, the `.npy` header, or nowhere (a true size over the memory budget).
 */
import { assert, assertEquals } from "../assert.ts";
import { type BombOptions, writeBomb } from "./bomb.ts";
import { errorLines, exists, runCli, scratch } from "./harness.ts";

const work = scratch("bomb");
const TIME = "/usr/bin/time";
const hasTime = exists(TIME);
/** Peak RSS allowed: the runtime and the modules take ~60 MB; the bomb declares 3.05 GiB. */
const RSS_BOUND_KIB = 300 * 1024;
const PATTERNS = 200000;
const HUGE = PATTERNS * 64 * 64 * 4;

const CASES: [string, BombOptions, Record<string, string>, RegExp][] = [
  [
    "coordinates for 100 positions",
    { declared: [PATTERNS, 64, 64], zeros: HUGE, positions: 100 },
    {},
    /coordinate length mismatch: 200000 patterns but xcoords has 100 positions/,
  ],
  [
    "a true size over PTYCHO_MEMORY_BUDGET=256MiB",
    { declared: [PATTERNS, 64, 64], zeros: HUGE },
    { PTYCHO_MEMORY_BUDGET: "256MiB" },
    /needs 3\.05 GiB of memory, more than the budget of 256 MiB \(PTYCHO_MEMORY_BUDGET\);.*fewer patterns.*--n_images.*smaller crop/,
  ],
  [
    "a zip directory declaring 1 MiB",
    { declared: [PATTERNS, 64, 64], zeros: HUGE, zipSize: 2 ** 20 },
    {},
    /header declares shape \(200000,64,64\) f4, 3\.05 GiB, but the archive member holds 1\.00 MiB/,
  ],
  [
    "a .npy header declaring 4 patterns",
    { declared: [4, 64, 64], zeros: HUGE, zipSize: 128 + 4 * 64 * 64 * 4 },
    {},
    /decompresses to more than its declared 65664 bytes/,
  ],
];

for (const [what, bomb, env, message] of CASES) {
  Deno.test({
    name: `deflate bomb with ${what}: refused in one line, peak RSS bounded`,
    ignore: !hasTime && Deno.env.get("CI") !== "true",
    fn: async () => {
      const file = `${work}/bomb.npz`;
      const size = writeBomb(file, bomb);
      const timeFile = `${work}/rss.txt`;
      const r = await runCli(
        [
          "train",
          "--train_data_file",
          file,
          "--output_dir",
          `${work}/out`,
          "--accelerator",
          "reference",
        ],
        { env, timeFile },
      );
      const peakKiB = Number(Deno.readTextFileSync(timeFile).trim().split("\n").at(-1));
      console.log(`${what}: ${(size / 2 ** 20).toFixed(1)} MB file, peak RSS ${peakKiB} KiB`);
      assert(peakKiB > 0 && peakKiB < RSS_BOUND_KIB, `peak RSS ${peakKiB} KiB`);
      assertEquals(r.code, 2, r.stderr);
      const lines = errorLines(r.stderr).filter((l) => !l.startsWith("Command exited"));
      assertEquals(lines.length, 1, r.stderr);
      assert(lines[0].startsWith(`error: ${file}`), lines[0]);
      assert(message.test(lines[0]), lines[0]);
      assert(!exists(`${work}/out`), "nothing written");
    },
  });
}
if (!hasTime) console.warn(`skipping the deflate bomb tests: ${TIME} is not available`);
