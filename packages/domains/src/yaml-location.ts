import { isMap, isNode, isPair, isSeq, type LineCounter, type Node } from 'yaml';

/**
 * The 1-based line of `path` below `root` in a parsed YAML document. A map entry is located by its key (a block
 * value may start on the next line); when part of the path does not exist (a missing field), the line of the deepest
 * node that does is returned.
 */
export function lineAt(root: unknown, path: readonly (string | number)[], lines: LineCounter): number | undefined {
  let node: unknown = root;
  let offset = rangeStart(root);
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && keyOf(item.key) === String(key));
      if (!pair) break;
      offset = rangeStart(pair.key) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number') {
      const item = node.items[key];
      if (item === undefined) break;
      offset = rangeStart(item) ?? offset;
      node = item;
    } else break;
  }
  return offset === undefined ? undefined : lines.linePos(offset).line;
}

function keyOf(key: unknown): string | undefined {
  if (isNode(key) && 'value' in key) return String((key as { value: unknown }).value);
  return key === undefined || key === null ? undefined : String(key);
}

function rangeStart(node: unknown): number | undefined {
  return isNode(node) ? ((node as Node).range?.[0] ?? undefined) : undefined;
}
