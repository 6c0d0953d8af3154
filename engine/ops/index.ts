/** Every tensor op of the engine. */
export * from "./create.ts";
export { broadcastShapes, expand, normalizeAxes, padShape, sum, sumTo } from "./broadcast.ts";
export * from "./elementwise.ts";
export * from "./reduce.ts";
export * from "./shape.ts";
export * from "./join.ts";
export * from "./nn.ts";
export * from "./complex.ts";
export * from "./patches.ts";
export * from "./farfield.ts";
export * from "./poisson.ts";
export * from "./merge.ts";
export * from "./heads.ts";
export * from "./scale.ts";
