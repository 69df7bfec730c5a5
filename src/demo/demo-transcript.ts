/**
 * The demo's transcript: each step's notes and checks (the story's log), beside the operator
 * events each relay recorded while the step ran, rendered and printed as each step ends.
 */
import { DemoError } from "./demo-error.js";
import { operatorLines, renderStep } from "./demo-render.js";
import type { DemoRelays } from "./demo-relays.js";
import type { OperatorEvent } from "./operator-recorder.js";
import type { StoryLog } from "./story/story-context.js";

export interface DemoStep {
  title: string;
  transcript: string[];
  /** Each operator's view of the step, as printed. */
  operators: { A: string[]; B: string[] };
  /** The operator events behind those views. */
  events: { A: OperatorEvent[]; B: OperatorEvent[] };
}

/**
 * @example
 * const out = new DemoTranscript(relays, 120, console.log);
 * out.begin("two providers, three members");
 * out.check(ok, "each member reaches the other provider's relay only through its ingress relay");
 * out.end(); // prints the step
 */
export class DemoTranscript implements StoryLog {
  readonly steps: DemoStep[] = [];
  readonly checks: string[] = [];
  readonly lines: string[] = [];
  #open: { title: string; transcript: string[]; marks: { A: number; B: number } } | undefined;

  constructor(
    private readonly relays: DemoRelays,
    private readonly width: number,
    private readonly log: (line: string) => void,
  ) {}

  print(...lines: string[]): void {
    for (const l of lines) {
      this.lines.push(l);
      this.log(l);
    }
  }

  /** Starts a step; its operator views cover the step, or with `wholeRun` everything so far. */
  begin(title: string, options: { wholeRun?: boolean } = {}): void {
    if (this.#open) this.end();
    const { a, b } = this.relays;
    this.#open = {
      title: `${this.steps.length + 1}. ${title}`,
      transcript: [],
      marks: options.wholeRun ? { A: 0, B: 0 } : { A: a.recorder.mark(), B: b.recorder.mark() },
    };
  }

  note(...lines: string[]): void {
    this.#open?.transcript.push(...lines);
  }

  /** Throws a DemoError naming the check unless `ok`; otherwise notes it as passed. */
  check(ok: boolean, description: string, detail?: () => string): void {
    if (!ok) {
      this.note(`✗ ${description}`);
      this.end();
      throw new DemoError(`check failed: ${description}${detail ? ` (${detail()})` : ""}`);
    }
    this.checks.push(description);
    this.note(`✓ ${description}`);
  }

  /** Ends the open step (if any): its operator views are the events since it began. */
  end(): void {
    const open = this.#open;
    if (!open) return;
    this.#open = undefined;
    const { a, b } = this.relays;
    const events = { A: a.recorder.since(open.marks.A), B: b.recorder.since(open.marks.B) };
    const operators = {
      A: operatorLines(events.A, new Map([[b.url, "B"]])),
      B: operatorLines(events.B, new Map([[a.url, "A"]])),
    };
    this.steps.push({ title: open.title, transcript: open.transcript, operators, events });
    this.print(...renderStep(open.title, open.transcript, operators, this.width));
  }
}
