const MAX_TERMS = 12;
const OPERATORS = new Set(["AND", "OR", "NOT", "NEAR"]);

/**
 * Whatever a person typed -> a safe FTS5 query: the words, each quoted (so `OR`, `NOT`, `*`, `-`,
 * quotes and parentheses are just text) and prefix-matched, all required. Null when nothing
 * searchable is left, e.g. for `"()*"`.
 */
export function ftsQuery(input: string): string | null {
  const words = (input.normalize("NFKC").match(/[\p{L}\p{N}]+/gu) ?? [])
    // People type FTS operators expecting search-engine behaviour; as words they would match nothing.
    .filter((word) => !OPERATORS.has(word));
  const terms = words.slice(0, MAX_TERMS).map((word) => `"${word}"*`);
  return terms.length ? terms.join(" ") : null;
}
