/**
 * Redraws the SVG chart from a run's JSON: node dist/privacy-run/privacy/chart.js RUN.json OUT.svg
 */
import { readFile, writeFile } from "node:fs/promises";
import { argv, exit } from "node:process";
import { renderChart, type ChartInput } from "./chart-svg.js";

const [input, output] = argv.slice(2);
if (!input || !output) {
  console.error("usage: node dist/privacy-run/privacy/chart.js RUN.json OUT.svg");
  exit(2);
}
const document = JSON.parse(await readFile(input, "utf8")) as ChartInput;
await writeFile(output, renderChart(document));
