/** Building the page's elements: text always goes in as text, never as markup. */

type Child = Node | string | undefined;

/**
 * An element with attributes and children; strings become text nodes.
 *
 * @example el("li", { class: "message", "data-sender": "bob" }, "bob: ", text)
 */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  for (const child of children) if (child !== undefined) element.append(child);
  return element;
}
