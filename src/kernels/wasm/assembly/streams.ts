// Decode reads weights from DRAM as several streams at once. A thread reading one sequential stream
// gets 7-8 GB/s here (the hardware prefetcher runs a limited distance ahead within a 4 KiB page);
// four streams far apart, each advanced in steps of under ~1 KiB in turn, give 10-12 GB/s on one
// thread and 20-25 on two (Intel Xeon, a plain 128-bit read loop in wasm; steps of 4 KiB and up
// lose the gain, the prefetcher idles between them). So each decode kernel splits its row range
// into four equal parts and walks them in lockstep, one block step of each in turn; every row's
// value is computed exactly as it is alone.

/** Rows between the four streams of a decode over rows r .. r1 in units of `unit` rows (the quad
 * of an interleaved layout, else 1), or 0 where the range is too short to split (under two units
 * per stream) or `n` (x rows) is not 1. The streams cover rows r .. r + 4·d. */
@inline export function streamGap(n: i32, r: i32, r1: i32, unit: i32): i32 {
  if (n != 1) return 0;
  const per = (r1 - r) / (unit << 2);
  return per >= 2 ? per * unit : 0;
}
