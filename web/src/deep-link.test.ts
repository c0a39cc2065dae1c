import { describe, expect, it } from 'vitest';

import { filtersToStore, parseDeepLink, withLinkedGroup } from './deep-link.js';
import { emptyFilters } from './filters.js';

describe('parseDeepLink', () => {
  it('reads node and group', () => {
    expect(parseDeepLink('?node=edge%40a&group=eu-west')).toEqual({
      node: 'edge@a',
      group: 'eu-west',
    });
  });

  it('accepts a query without the question mark', () => {
    expect(parseDeepLink('node=edge@a')).toEqual({ node: 'edge@a' });
  });

  it('returns nothing for an empty query', () => {
    expect(parseDeepLink('')).toEqual({});
  });

  it('drops blank values', () => {
    expect(parseDeepLink('?node=%20%20&group=')).toEqual({});
  });

  it('trims surrounding spaces', () => {
    expect(parseDeepLink('?node=+edge%40a+')).toEqual({ node: 'edge@a' });
  });

  it('takes the first of repeated values', () => {
    expect(parseDeepLink('?group=a&group=b')).toEqual({ group: 'a' });
  });

  it('ignores other parameters', () => {
    expect(parseDeepLink('?view=2d&node=n1')).toEqual({ node: 'n1' });
  });
});

describe('withLinkedGroup', () => {
  it('replaces only the group selection', () => {
    const stored = { ...emptyFilters(), role: ['edge'], group: ['old'] };
    expect(withLinkedGroup(stored, 'new')).toEqual({ ...stored, group: ['new'] });
  });

  it('leaves the stored filters unchanged', () => {
    const stored = { ...emptyFilters(), group: ['old'] };
    withLinkedGroup(stored, 'new');
    expect(stored.group).toEqual(['old']);
  });
});

describe('filtersToStore', () => {
  const stored = { ...emptyFilters(), group: ['old'] };

  it('keeps the stored group while the linked one is selected', () => {
    const current = { ...emptyFilters(), role: ['edge'], group: ['new'] };
    expect(filtersToStore(current, stored, 'new')).toEqual({ ...current, group: ['old'] });
  });

  it('stores a group selection the user changed', () => {
    const current = { ...emptyFilters(), group: ['new', 'other'] };
    expect(filtersToStore(current, stored, 'new')).toEqual(current);
  });

  it('stores a cleared group selection', () => {
    const current = emptyFilters();
    expect(filtersToStore(current, stored, 'new')).toEqual(current);
  });
});
