/**
 * True when a JSON text nests objects and arrays deeper than `maxDepth`, found by one scan of its brackets (outside
 * strings) before anything is parsed: a body nested thousands deep would otherwise exhaust the stack of whatever walks
 * it after parsing. Malformed JSON is left to the parser to report.
 */
export function jsonNestsDeeperThan(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}
