import { describe, expect, it } from 'vitest';
import { formatTable } from './terminal-io';

describe('formatTable', () => {
  it('pads each column but the last to its widest cell', () => {
    expect(
      formatTable([
        ['NAME', 'SIZE', 'ARCH'],
        ['stories260K', '1.2 MB', 'llama'],
      ]),
    ).toBe('NAME         SIZE    ARCH\nstories260K  1.2 MB  llama');
  });
});
