// Parses durations written as a number and a unit: 500ms, 5s, 2m, 1h.

const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(setting: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!match) {
    throw new Error(
      `${setting}: ${JSON.stringify(text)} is not a duration; write a number and a unit, such as 500ms, 5s or 1m`,
    );
  }
  return Math.round(Number(match[1]) * unitMs[match[2]!]!);
}
