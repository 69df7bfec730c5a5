import { ShroudError } from "../protocol/errors.js";

/** A demo failure: a check that did not hold, an outcome that never came, or a relay that could not be run. */
export class DemoError extends ShroudError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("demo", message, options);
  }
}
