/**
 * Regular expressions from step configs, guarded against catastrophic
 * backtracking. A pattern is refused when it
 * - is longer than {@link MAX_PATTERN_LENGTH} characters;
 * - repeats a group that itself holds a variable quantifier or an alternation
 *   (`(a+)+`, `(\w*)*`, `(a|aa)+`, `(x{1,3})+`): the shapes with exponential
 *   backtracking;
 * - uses backreferences (`\1`, `\k<name>`);
 * - has more than {@link MAX_UNBOUNDED} unbounded quantifiers (`.*.*.*...`);
 * and values longer than {@link MAX_MATCH_LENGTH} characters are never
 * matched (they fail the test), which bounds the polynomial cases left.
 */

export const MAX_PATTERN_LENGTH = 500;
export const MAX_MATCH_LENGTH = 10_000;
export const MAX_UNBOUNDED = 8;
const ALLOWED_FLAGS = /^[imsu]*$/;

interface Frame {
  /** The group holds a quantifier that matches a variable number of times. */
  variable: boolean;
  alternation: boolean;
}

/** Reads a quantifier at `i`: its length and bounds, or null when there is none. */
function quantifierAt(p: string, i: number): { len: number; min: number; max: number } | null {
  const c = p[i];
  let q: { len: number; min: number; max: number } | null = null;
  if (c === '*') q = { len: 1, min: 0, max: Infinity };
  else if (c === '+') q = { len: 1, min: 1, max: Infinity };
  else if (c === '?') q = { len: 1, min: 0, max: 1 };
  else if (c === '{') {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(p.slice(i, i + 24));
    if (m) q = { len: m[0].length, min: Number(m[1]), max: m[2] === undefined ? Number(m[1]) : m[3] === '' ? Infinity : Number(m[3]) };
  }
  if (q && p[i + q.len] === '?') q.len++; // lazy
  return q;
}

/** Why a pattern is refused (not compiling included), or null when it is acceptable. */
export function regexProblem(pattern: unknown, flags = ''): string | null {
  if (typeof pattern !== 'string' || pattern === '') return 'must be a non-empty regular expression';
  if (pattern.length > MAX_PATTERN_LENGTH) return `is longer than ${MAX_PATTERN_LENGTH} characters`;
  if (typeof flags !== 'string' || !ALLOWED_FLAGS.test(flags)) return 'flags may only combine i, m, s and u';
  try {
    new RegExp(pattern, flags);
  } catch (err) {
    return `does not compile: ${(err as Error).message}`;
  }
  const stack: Frame[] = [{ variable: false, alternation: false }];
  let lastGroup: Frame | null = null;
  let unbounded = 0;
  for (let i = 0; i < pattern.length; ) {
    const c = pattern[i];
    let atomGroup: Frame | null = null;
    if (c === '\\') {
      const n = pattern[i + 1];
      if (/[1-9]/.test(n) || (n === 'k' && pattern[i + 2] === '<')) return 'uses a backreference, which can backtrack without bound';
      i += 2;
    } else if (c === '[') {
      let j = i + 1;
      if (pattern[j] === '^') j++;
      while (j < pattern.length && pattern[j] !== ']') j += pattern[j] === '\\' ? 2 : 1;
      i = j + 1;
    } else if (c === '(') {
      stack.push({ variable: false, alternation: false });
      i++;
      if (pattern[i] === '?') {
        // (?: (?= (?! (?<= (?<! (?<name>
        const m = /^\?(?::|=|!|<=|<!|<[A-Za-z_$][\w$]*>)/.exec(pattern.slice(i, i + 40));
        i += m ? m[0].length : 1;
      }
      continue;
    } else if (c === ')') {
      const closed = stack.length > 1 ? stack.pop()! : { variable: false, alternation: false };
      const parent = stack[stack.length - 1];
      parent.variable ||= closed.variable;
      atomGroup = closed;
      i++;
    } else if (c === '|') {
      stack[stack.length - 1].alternation = true;
      i++;
      continue;
    } else {
      i++;
    }
    lastGroup = atomGroup;
    const q = quantifierAt(pattern, i);
    if (!q) continue;
    const variable = q.max !== q.min;
    const repeats = q.max > 1;
    if (q.max === Infinity && ++unbounded > MAX_UNBOUNDED) return `has more than ${MAX_UNBOUNDED} unbounded quantifiers`;
    if (repeats && lastGroup && (lastGroup.variable || lastGroup.alternation)) {
      return lastGroup.alternation
        ? 'repeats a group that holds an alternation (like (a|ab)+), which can backtrack exponentially; use a character class'
        : 'nests quantifiers (like (a+)+), which can backtrack exponentially';
    }
    if (variable) stack[stack.length - 1].variable = true;
    i += q.len;
    lastGroup = null;
  }
  return null;
}

/** A compiled, vetted pattern with the length cap applied. */
export interface SafeRegex {
  readonly source: string;
  /** False for non-strings (numbers are matched as text) and for values over the length cap. */
  test(value: unknown): boolean;
}

/**
 * Compiles a pattern that passed {@link regexProblem}.
 * @throws Error with the problem when it did not.
 */
export function compileSafeRegex(pattern: string, flags = ''): SafeRegex {
  const problem = regexProblem(pattern, flags);
  if (problem) throw new Error(`pattern ${problem}`);
  const re = new RegExp(pattern, flags.replace(/[gy]/g, ''));
  return {
    source: pattern,
    test(value) {
      const s = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : null;
      return s !== null && s.length <= MAX_MATCH_LENGTH && re.test(s);
    },
  };
}
