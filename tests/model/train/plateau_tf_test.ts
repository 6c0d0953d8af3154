/**
 * The TensorFlow upstream plateau schedule (docs/physics.md#training): Keras's ReduceLROnPlateau
 * settings.
 */
import { makeScheduler } from "../../../model/train/loop.ts";
import { assertEquals } from "../../assert.ts";

Deno.test("plateau_tf halves after 2 epochs without improvement and stops at 1e-4", () => {
  const s = makeScheduler("plateau_tf", 1e-3, 40);
  // Monitored losses after epochs 1, 2, ...: improve, then 2 bad epochs, improve, 1 bad, ...
  const losses = [10, 9, 9.5, 9.2, 8, 8.5, 7, 7.5, 7.5, 7.5, 7.5, 7.5, 7.5, 7.5, 7.5, 7.5];
  const lrs = [s.lrForEpoch(0)];
  losses.forEach((loss, e) => lrs.push(s.lrForEpoch(e + 1, loss)));
  assertEquals(lrs.slice(0, 6), [1e-3, 1e-3, 1e-3, 1e-3, 5e-4, 5e-4]);
  // One bad epoch (8.5) is not enough; the next improvement (7) resets the count.
  assertEquals(lrs.slice(6, 8), [5e-4, 5e-4]);
  // Then every second bad epoch halves: 2.5e-4, 1.25e-4, and the floor 1e-4 from there on.
  assertEquals(lrs.slice(8), [5e-4, 2.5e-4, 2.5e-4, 1.25e-4, 1.25e-4, 1e-4, 1e-4, 1e-4, 1e-4]);
  // PyTorch's `plateau` waits for a third bad epoch.
  const torch = makeScheduler("plateau", 1e-3, 40);
  const torchLrs = [10, 9, 9.5, 9.2].map((loss, e) => torch.lrForEpoch(e + 1, loss));
  assertEquals(torchLrs, [1e-3, 1e-3, 1e-3, 1e-3]);
});
