/**
 * Attribute matching of QIDO-RS (PS3.18 §8.3.4, PS3.4 §C.2.2.2), with HealthImaging's observed rules (spec §4.4):
 * - an empty value is universal matching: everything matches, and the attribute is returned;
 * - UIDs match one of a list (`a,b` or `a\b`);
 * - dates, times and date-times match a single value or an inclusive range `from-to`, `from-`, `-to`;
 * - everything else matches exactly and case-sensitively, with `*` (any run) and `?` (one character) wildcards;
 * - with `fuzzymatching=true`, person names match when each word of the query starts a word of the name,
 *   ignoring case (`fuzzymatching=true&PatientName=doe jo` matches `DOE^JOHN`).
 * A multi-valued attribute matches when any of its values does.
 */
import { validationError } from '../errors.js';

/** Whether an attribute value, as the metadata document holds it, matches. */
export type Matcher = (value: unknown) => boolean;

export interface MatchOptions {
  fuzzy: boolean;
}

/** Values of a document attribute as trimmed strings (PN as its `FAMILY^GIVEN` string). */
export function textValues(value: unknown): string[] {
  const list = value === null || value === undefined ? [] : Array.isArray(value) ? value : [value];
  return list.filter((v) => v !== null && v !== undefined && typeof v !== 'object').map((v) => String(v).replace(/[ \0]+$/, '').trimStart());
}

/** A matcher for `query` on an attribute of VR `vr`; undefined for universal matching (empty query). */
export function matcherFor(keyword: string, vr: string, query: string, options: MatchOptions): Matcher | undefined {
  if (query === '') return undefined;
  const any = (test: (s: string) => boolean): Matcher => (value) => textValues(value).some(test);
  switch (vr) {
    case 'UI': {
      const wanted = new Set(query.split(/[,\\]/).map((s) => s.trim()).filter(Boolean));
      return any((s) => wanted.has(s));
    }
    case 'DA':
    case 'TM':
    case 'DT':
      return any(rangeTest(keyword, vr, query));
    case 'PN':
      return any(options.fuzzy ? fuzzyNameTest(query) : wildcardTest(query));
    case 'IS':
    case 'US':
    case 'UL':
    case 'SS':
    case 'SL':
      if (!/[*?]/.test(query)) {
        const wanted = Number(query);
        if (!Number.isFinite(wanted)) throw validationError(`Query value '${query}' for ${keyword} must be a number.`);
        return any((s) => Number(s) === wanted);
      }
      return any(wildcardTest(query));
    default:
      return any(wildcardTest(query));
  }
}

function wildcardTest(query: string): (s: string) => boolean {
  if (!/[*?]/.test(query)) return (s) => s === query;
  const pattern = query.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  const re = new RegExp(`^${pattern}$`, 's');
  return (s) => re.test(s);
}

function fuzzyNameTest(query: string): (s: string) => boolean {
  const words = (s: string) => s.toLowerCase().split(/[\s^=,]+/).filter(Boolean);
  const wanted = words(query.replace(/[*?]/g, ''));
  return (name) => {
    const have = words(name);
    return wanted.every((w) => have.some((h) => h.startsWith(w)));
  };
}

/** Comparable forms: DA `YYYYMMDD`, TM `HHMMSS.FFFFFF`, DT both; a range's upper bound is padded to its end. */
function normalise(vr: string, value: string, upper: boolean): string {
  const digits = value.replace(/[-:]/g, '');
  if (vr === 'DA') return digits;
  if (vr === 'TM') {
    const [whole = '', fraction = ''] = digits.split('.');
    return `${whole.padEnd(6, upper ? '9' : '0')}.${fraction.padEnd(6, upper ? '9' : '0')}`;
  }
  // DT: YYYYMMDDHHMMSS.FFFFFF, a timezone offset ignored.
  const [whole = '', fraction = ''] = digits.replace(/[+-]\d{4}$/, '').split('.');
  return `${whole.padEnd(14, upper ? '9' : '0')}.${fraction.padEnd(6, upper ? '9' : '0')}`;
}

function rangeTest(keyword: string, vr: string, query: string): (s: string) => boolean {
  const shape = vr === 'DA' ? /^\d{8}$/ : vr === 'TM' ? /^\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?$/ : /^\d{4,14}(\.\d{1,6})?([+-]\d{4})?$/;
  const check = (part: string) => {
    if (part !== '' && !shape.test(part.replace(/:/g, ''))) throw validationError(`Query value '${query}' for ${keyword} is not a valid ${vr} value or range.`);
    return part;
  };
  // A DA or TM value has no hyphen of its own, so one hyphen separates a range; DT may end with a -HHMM offset.
  const dash = vr === 'DT' ? query.search(/-(?!\d{4}$)/) : query.indexOf('-');
  if (dash < 0) {
    const exact = normalise(vr, check(query), false);
    return (s) => s !== '' && normalise(vr, s, false) === exact;
  }
  const low = check(query.slice(0, dash));
  const high = check(query.slice(dash + 1));
  if (low === '' && high === '') throw validationError(`Query value '${query}' for ${keyword} is an empty range.`);
  const from = low === '' ? undefined : normalise(vr, low, false);
  const to = high === '' ? undefined : normalise(vr, high, true);
  return (s) => {
    if (s === '') return false;
    const x = normalise(vr, s, false);
    return (from === undefined || x >= from) && (to === undefined || x <= to);
  };
}
