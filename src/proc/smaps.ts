/** PSS, USS and swap from `/proc/<pid>/smaps_rollup` (Linux ≥ 4.14), in bytes. */
export interface SmapsRollup {
  pss: number;
  uss: number;
  swap: number;
}

export function parseSmapsRollup(text: string): SmapsRollup | undefined {
  let pss: number | undefined;
  let privateBytes = 0;
  let swap = 0;
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon);
    const kib = Number.parseInt(line.slice(colon + 1), 10);
    if (!Number.isFinite(kib)) continue;
    if (key === 'Pss') pss = kib * 1024;
    else if (key === 'Private_Clean' || key === 'Private_Dirty') privateBytes += kib * 1024;
    else if (key === 'Swap') swap = kib * 1024;
  }
  return pss === undefined ? undefined : { pss, uss: privateBytes, swap };
}
