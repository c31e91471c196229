/**
 * The first bytes of a failed response as text, cut at a character boundary so a
 * multi-byte UTF-8 character split by the byte limit is dropped, not turned into U+FFFD.
 */
export function takeSnippet (chunks: readonly Buffer[], maxBytes: number): string {
  const bytes = Buffer.concat(chunks).subarray(0, maxBytes)
  return bytes.subarray(0, completeUtf8Length(bytes)).toString('utf8')
}

/** Length of `bytes` without a trailing, incomplete UTF-8 sequence. */
export function completeUtf8Length (bytes: Buffer): number {
  // Walk back over continuation bytes (10xxxxxx) to the last lead byte, at most 3 steps.
  let lead = bytes.length - 1
  while (lead >= 0 && lead > bytes.length - 4 && ((bytes[lead] as number) & 0xc0) === 0x80) lead--
  if (lead < 0) return bytes.length
  const byte = bytes[lead] as number
  const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1
  return lead + needed <= bytes.length ? bytes.length : lead
}
