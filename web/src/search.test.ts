import { describe, expect, it } from 'vitest';

import type { ViewNode } from './merge.js';
import { isTypingTarget, searchNodes } from './search.js';

const nodes = ['worker-2@b', 'edge@a', 'worker-1@a', 'Worker', 'gateway@worker'].map(
  (name, i) => ({ id: `n${i}`, name }) as ViewNode,
);

function names(found: ViewNode[]): string[] {
  return found.map((node) => node.name);
}

describe('searchNodes', () => {
  it('ranks exact, then prefix, then substring', () => {
    expect(names(searchNodes(nodes, 'worker'))).toEqual([
      'Worker',
      'worker-1@a',
      'worker-2@b',
      'gateway@worker',
    ]);
  });

  it('ignores case and surrounding spaces', () => {
    expect(names(searchNodes(nodes, '  EDGE@A '))).toEqual(['edge@a']);
  });

  it('returns nothing for an empty query', () => {
    expect(searchNodes(nodes, '   ')).toEqual([]);
  });

  it('returns nothing without a match', () => {
    expect(searchNodes(nodes, 'relay')).toEqual([]);
  });

  it('stops at the limit', () => {
    expect(names(searchNodes(nodes, 'worker', 1))).toEqual(['Worker']);
  });

  it('skips nodes without a name', () => {
    const unnamed = [{ id: 'x' } as ViewNode];
    expect(searchNodes(unnamed, 'x')).toEqual([]);
  });
});

describe('isTypingTarget', () => {
  it('leaves keys to text fields', () => {
    expect(isTypingTarget({ tagName: 'INPUT' })).toBe(true);
    expect(isTypingTarget({ tagName: 'textarea' })).toBe(true);
    expect(isTypingTarget({ tagName: 'DIV', isContentEditable: true })).toBe(true);
  });

  it('takes keys from other elements', () => {
    expect(isTypingTarget({ tagName: 'CANVAS' })).toBe(false);
    expect(isTypingTarget({ tagName: 'BUTTON' })).toBe(false);
  });
});
