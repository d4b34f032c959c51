// UTF-8 validity as the matcher and the vocabulary tables check it: no overlong forms, no
// surrogates, nothing past U+10FFFF.

// UTF-8 continuation states: [low, high, next state].
export const UTF8: readonly (readonly [number, number, number])[] = [
  [0, 0, 0],
  [0x80, 0xbf, 0], // 1: last continuation byte
  [0x80, 0xbf, 1], // 2: two to go
  [0xa0, 0xbf, 1], // 3: after E0 (no overlongs)
  [0x80, 0x9f, 1], // 4: after ED (no surrogates)
  [0x80, 0xbf, 2], // 5: three to go
  [0x90, 0xbf, 2], // 6: after F0 (no overlongs)
  [0x80, 0x8f, 2], // 7: after F4 (<= U+10FFFF)
];

/** UTF-8 state after a lead byte, or -1 if `b` cannot start a multi-byte character. */
export function utf8Lead(b: number): number {
  if (b >= 0xc2 && b <= 0xdf) return 1;
  if (b === 0xe0) return 3;
  if (b === 0xed) return 4;
  if (b >= 0xe1 && b <= 0xef) return 2;
  if (b === 0xf0) return 6;
  if (b >= 0xf1 && b <= 0xf3) return 5;
  if (b === 0xf4) return 7;
  return -1;
}

