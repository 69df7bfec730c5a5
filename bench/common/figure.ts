/** A named figure of a bench run, as `--json` writes it (names stay stable across versions). */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** What the same work costs on the platform alone, measured in the same run. */
  floor?: number;
  /** value / floor, or for a comparison figure the measured ratio itself. */
  ratio?: number;
}
