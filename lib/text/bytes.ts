// Sizes as every program shows them, in binary units: 340 B, 1.2 KiB, 56 MiB.
// (mcr's commands and the console once disagreed: KiB against kB for the same run.)

export function bytes(n: number): string {
  if (!Number.isFinite(n) || n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = n;
  let i = -1;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}
