/** How busy the whole machine was over a window (Linux /proc; undefined elsewhere). */
import { loadavg } from "node:os";
import { machineCpuSeconds } from "../common/process-cpu.js";

export interface MachineUse {
  /** Cores' worth of CPU busy on average over the window, every process counted. */
  busyCores: number;
  seconds: number;
}

/**
 * @example const machine = machineWindow(); ...; const use = machine.done();
 */
export function machineWindow(): { done(): MachineUse | undefined } {
  const before = machineCpuSeconds();
  const started = performance.now();
  return {
    done() {
      const after = machineCpuSeconds();
      if (!before || !after) return undefined;
      const seconds = (performance.now() - started) / 1000;
      return { busyCores: (after.busy - before.busy) / seconds, seconds };
    },
  };
}

/** The 1-minute load average, e.g. "3.52" (other work on the machine skews wall-clock figures). */
export function loadAverage(): string {
  return loadavg()[0]!.toFixed(2);
}
