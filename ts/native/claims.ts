// Claims answered from the native cache (a token seen before) arrive as `<entry>:<claims JSON>`,
// where `<entry>` is a number the verified-token cache gave that entry, never reused for other
// claims. They are parsed once per entry and handed out as deep copies: every caller still gets
// an object of its own, as from JSON.parse, at a fraction of the cost, and the memo is looked up
// by that number rather than by hashing the claims text, which cost as much as the rest of a hit.
// Bounded in entries and size; the oldest goes first. Anything else (claims from a validation
// that ran just now) is plain JSON and is parsed as it is.
const MEMO_ENTRIES = 1000;
const MEMO_TEXT_LIMIT = 4096;

// A memo only pays while its entries come back. Traffic spread over more distinct tokens than it
// holds (a pool of users) would make every lookup a miss that parses, indexes, evicts and then
// copies: several times the cost of JSON.parse alone. So the memo counts its hits over windows
// of lookups; after a window in which most lookups missed, it admits only one miss in
// ADMIT_SAMPLE (the others are parsed and handed out as they are), which is still enough for a
// hot token that comes back to find its way in and turn admission on again.
const WINDOW = 4096;
const ADMIT_SAMPLE = 64;

interface ParsedClaims {
  value: Record<string, unknown>;
  /** Keys whose values are objects or arrays, which a copy must copy too. */
  nested: string[];
}

const parsedClaims = new Map<number, ParsedClaims>();
let lookups = 0;
let hits = 0;
let admitting = true;
let missesUnadmitted = 0;

const DIGIT_0 = 48;
const DIGIT_9 = 57;
const COLON = 58;

/** The claims of an answer: from the memo for a cache entry seen before, else parsed. */
export function cachedClaims<T>(answer: string): T {
  let code = answer.charCodeAt(0);
  if (!(code >= DIGIT_0 && code <= DIGIT_9)) return JSON.parse(answer) as T;
  let entry = 0;
  let at = 0;
  while (code !== COLON) {
    // Past the end charCodeAt is NaN: an answer not of our shape is parsed as it is (and throws).
    if (!(code >= DIGIT_0 && code <= DIGIT_9)) return JSON.parse(answer) as T;
    entry = entry * 10 + (code - DIGIT_0);
    code = answer.charCodeAt(++at);
  }
  const parsed = parsedClaims.get(entry);
  if (++lookups === WINDOW) {
    admitting = 2 * hits >= WINDOW;
    lookups = 0;
    hits = 0;
  }
  if (parsed !== undefined) {
    hits++;
    return copyOf(parsed) as T;
  }
  const value: unknown = JSON.parse(answer.slice(at + 1));
  if (answer.length > MEMO_TEXT_LIMIT || typeof value !== 'object' || value === null || Array.isArray(value)) {
    return value as T;
  }
  if (!admitting && ++missesUnadmitted < ADMIT_SAMPLE) return value as T;
  missesUnadmitted = 0;
  const record = value as Record<string, unknown>;
  const admitted = { value: record, nested: Object.keys(record).filter((key) => isContainer(record[key])) };
  if (parsedClaims.size >= MEMO_ENTRIES) parsedClaims.delete(parsedClaims.keys().next().value as number);
  parsedClaims.set(entry, admitted);
  return copyOf(admitted) as T;
}

function copyOf(parsed: ParsedClaims): Record<string, unknown> {
  const copy = { ...parsed.value };
  for (const key of parsed.nested) copy[key] = deepCopy(parsed.value[key]);
  return copy;
}

function isContainer(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

// Spread keeps a "__proto__" claim an own data property (as JSON.parse makes it), so the
// assignments below update that property rather than the prototype.
function deepCopy(value: unknown): unknown {
  if (!isContainer(value)) return value;
  if (Array.isArray(value)) return value.map(deepCopy);
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const key of Object.keys(copy)) if (isContainer(copy[key])) copy[key] = deepCopy(copy[key]);
  return copy;
}
