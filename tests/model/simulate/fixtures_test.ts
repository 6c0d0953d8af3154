/**
 * The bundled simulated fixtures are what the commands in fixtures/README.md make: each command
 * is parsed with the `simulate` flags, re-simulated in process and compared array by array.
 */
import { parseArgs } from "../../../cli/args.ts";
import { readNpzFile } from "../../../io/npz.ts";
import { datasetArrays } from "../../../model/simulate/simulate.ts";
import { recipeFromFlags, simulateCommand } from "../../../cli/simulate.ts";
import { simulateDataset } from "../../../model/simulate/dataset.ts";
import { assert, assertEquals } from "../../assert.ts";

const root = new URL("../../../", import.meta.url).pathname;
const commands = Deno.readTextFileSync(`${root}fixtures/README.md`).split("\n")
  .filter((line) => line.startsWith("deno task simulate --output fixtures/sim_"));

Deno.test("fixtures/README.md lists the commands of the five simulated fixtures", () => {
  assertEquals(commands.length, 5);
});

for (const command of commands) {
  const args = command.split(/\s+/).slice(3);
  const parsed = parseArgs(args, simulateCommand.flags);
  const output = parsed.flags.output as string;
  Deno.test(`${output} is what its README command makes`, () => {
    const expected = datasetArrays(simulateDataset(recipeFromFlags(parsed.flags)));
    const stored = readNpzFile(`${root}${output}`);
    assertEquals([...stored.keys()].sort(), Object.keys(expected).sort());
    for (const [key, array] of Object.entries(expected)) {
      const got = stored.get(key)!;
      assertEquals([got.dtype, got.shape], [array.dtype, array.shape], key);
      if (key === "_metadata") {
        assertEquals(
          JSON.parse((got.data as string[])[0]),
          JSON.parse((array.data as string[])[0]),
        );
      } else {
        assert(
          got.data.length === array.data.length && got.data.every((v, k) => v === array.data[k]),
          `${output}: key '${key}' differs from a fresh simulation`,
        );
      }
    }
  });
}
