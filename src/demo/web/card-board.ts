/**
 * The web demo's stand-in for people handing each other their contact cards: each page puts its
 * person's card here and the others read it. Cards hold a write token and key packages, nothing
 * secret beyond what a card is meant to give; they are kept in memory for the demo's lifetime.
 */
import { DEMO_PEOPLE, MAX_CARD_BYTES } from "./page/web-api.js";

/**
 * @example
 * const board = new CardBoard();
 * board.put("bob", cardJson); // true
 * board.get("bob"); // cardJson
 */
export class CardBoard {
  readonly #cards = new Map<string, string>();

  /** Keeps `card` for `name` (replacing an older one); false for a stranger or an oversized card. */
  put(name: string, card: string): boolean {
    if (!DEMO_PEOPLE.some((p) => p.name === name)) return false;
    if (new TextEncoder().encode(card).length > MAX_CARD_BYTES) return false;
    this.#cards.set(name, card);
    return true;
  }

  get(name: string): string | undefined {
    return this.#cards.get(name);
  }

  /** The names that have put a card, in the cast's order. */
  names(): string[] {
    return DEMO_PEOPLE.map((p) => p.name).filter((name) => this.#cards.has(name));
  }
}
