// @ts-check
/// <reference lib="dom" />
/**
 * DOM lookups for the operator page: a missing element is a bug in index.html, so it throws
 * instead of handing `null` to every caller.
 * @module
 */

/** The element with this id; throws when index.html lacks it. */
export function $(/** @type {string} */ id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`operator page: no element #${id}`);
  return el;
}

/** Sets the text of the element with this id (never HTML: server text goes in as text). */
export function setText(/** @type {string} */ id, /** @type {string} */ text) {
  $(id).textContent = text;
}

/** Every element matching the selector, typed as HTML elements. */
export function all(/** @type {string} */ selector) {
  return /** @type {HTMLElement[]} */ ([...document.querySelectorAll(selector)]);
}

/** The first element matching the selector inside `root`; throws when there is none. */
export function inside(/** @type {Element} */ root, /** @type {string} */ selector) {
  const el = root.querySelector(selector);
  if (!(el instanceof HTMLElement)) throw new Error(`operator page: no ${selector} in #${root.id}`);
  return el;
}
