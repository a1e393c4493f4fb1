// Claims answered from the native cache (a token seen before) are parsed once per distinct
// claims text and handed out as deep copies: every caller still gets an object of its own, as
// from JSON.parse, at a fraction of the cost. Bounded in entries and size; the oldest goes first.
const MEMO_ENTRIES = 1000;
const MEMO_TEXT_LIMIT = 4096;

interface ParsedClaims {
  value: Record<string, unknown>;
  /** Keys whose values are objects or arrays, which a copy must copy too. */
  nested: string[];
}

const parsedClaims = new Map<string, ParsedClaims>();

/** The claims of a cache hit, from the memo when this text was seen before. */
export function cachedClaims<T>(text: string): T {
  let parsed = parsedClaims.get(text);
  if (parsed === undefined) {
    const value: unknown = JSON.parse(text);
    if (text.length > MEMO_TEXT_LIMIT || typeof value !== 'object' || value === null || Array.isArray(value)) {
      return value as T;
    }
    const record = value as Record<string, unknown>;
    parsed = { value: record, nested: Object.keys(record).filter((key) => isContainer(record[key])) };
    if (parsedClaims.size >= MEMO_ENTRIES) parsedClaims.delete(parsedClaims.keys().next().value as string);
    parsedClaims.set(text, parsed);
  }
  const copy = { ...parsed.value };
  for (const key of parsed.nested) copy[key] = deepCopy(parsed.value[key]);
  return copy as T;
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
