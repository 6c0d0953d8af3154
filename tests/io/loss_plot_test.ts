/** The loss-curve SVG: well-formed, log axis with decade ticks, both series drawn. */
import { ok, strictEqual } from "node:assert";
import { lossCurveSvg } from "../../io/loss_plot.ts";

Deno.test("loss curve SVG with train and validation on a log axis", () => {
  const svg = lossCurveSvg(
    { train: [10, 3, 1, 0.3, 0.12], validation: [12, 4, 1.5, 0.5, 0.2] },
    { title: "N=64 <gs 2>" },
  );
  ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  ok(svg.trimEnd().endsWith("</svg>"));
  ok(svg.includes("loss (log scale)"));
  ok(svg.includes("N=64 &#60;gs 2&#62;"), "title escaped");
  for (const tick of [">0.1<", ">1<", ">10<", ">100<"]) ok(svg.includes(tick), `tick ${tick}`);
  const train = /class="train"[^>]*points="([^"]*)"/.exec(svg)![1].split(" ");
  const validation = /class="validation"[^>]*points="([^"]*)"/.exec(svg)![1].split(" ");
  strictEqual(train.length, 5);
  strictEqual(validation.length, 5);
  const ys = train.map((p) => Number(p.split(",")[1]));
  ok(ys.every((y, i) => i === 0 || y > ys[i - 1]), "falling loss goes down the plot");
  const [first, second] = [ys[0], ys[1]];
  const decade = (ys[2] - first) / 1; // 10 → 1 is one decade
  ok(Math.abs((second - first) - decade * Math.log10(10 / 3)) < 0.2, "y is logarithmic");
});

Deno.test("non-positive losses fall back to a linear axis; NaN points are skipped", () => {
  const svg = lossCurveSvg({ train: [-5, -7, NaN, -8] });
  ok(!svg.includes("log scale"));
  strictEqual(/class="train"[^>]*points="([^"]*)"/.exec(svg)![1].split(" ").length, 3);
  ok(!svg.includes("validation"));
  ok(lossCurveSvg({ train: [] }).includes("</svg>"));
});
