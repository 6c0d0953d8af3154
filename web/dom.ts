/**
 * The few DOM types the page uses. Deno type-checks the whole repository in one program, and
 * its DOM library there clashes with Deno's own stream types, so the page declares what it
 * touches instead of `/// <reference lib="dom" />`.
 */

/** An image's RGBA pixels. */
export interface Pixels {
  /** RGBA bytes, row-major. */
  readonly data: Uint8ClampedArray;
}

/** The 2-D canvas calls the page makes. */
export interface Canvas2d {
  strokeStyle: string;
  fillStyle: string;
  clearRect(x: number, y: number, w: number, h: number): void;
  beginPath(): void;
  moveTo(x: number, y: number): void;
  lineTo(x: number, y: number): void;
  stroke(): void;
  fillText(text: string, x: number, y: number): void;
  createImageData(w: number, h: number): Pixels;
  putImageData(image: Pixels, x: number, y: number): void;
}

/** A drag, drop or change event. */
export interface PageEvent {
  preventDefault(): void;
  readonly target: PageElement;
  readonly dataTransfer?: { readonly files: ArrayLike<File> } | null;
}

/** The element properties the page uses (buttons, inputs, canvases, links, progress). */
export interface PageElement {
  textContent: string | null;
  hidden: boolean;
  disabled: boolean;
  value: string | number;
  href: string;
  width: number;
  height: number;
  readonly files: ArrayLike<File> | null;
  readonly style: { display: string };
  readonly classList: { add(name: string): void; remove(name: string): void };
  onclick: ((ev: PageEvent) => void) | null;
  onchange: ((ev: PageEvent) => void) | null;
  ondragover: ((ev: PageEvent) => void) | null;
  ondragleave: ((ev: PageEvent) => void) | null;
  ondrop: ((ev: PageEvent) => void) | null;
  getContext(kind: "2d"): Canvas2d | null;
}

/** The element with id `id` (the page's HTML has them all). */
export function byId(id: string): PageElement {
  const doc = (globalThis as unknown as {
    document: { getElementById(id: string): PageElement | null };
  }).document;
  const el = doc.getElementById(id);
  if (el === null) throw new Error(`the page has no element #${id}`);
  return el;
}
