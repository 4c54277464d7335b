/**
 * Verification codes: `CERT-2026-7K3Q-9XWD-M2QA-5ZT8`. Fifteen random Crockford base32 symbols
 * (75 bits from the CSPRNG) and a check symbol (the value mod 37, Crockford's check alphabet), so
 * a mistyped code is caught before any lookup. Read case-insensitively, with I/L as 1 and O as 0.
 */
const SYMBOLS = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const CHECK_SYMBOLS = `${SYMBOLS}*~$=U`;
const RANDOM_LENGTH = 15;

function checkSymbol(payload: string): string {
  let value = 0n;
  for (const char of payload) {
    value = value * 32n + BigInt(SYMBOLS.indexOf(char));
  }
  return CHECK_SYMBOLS[Number(value % 37n)]!;
}

const grouped = (symbols: string) => symbols.match(/.{1,4}/g)!.join("-");

export function newVerificationCode(
  year = new Date().getUTCFullYear(),
): string {
  const bytes = new Uint8Array(RANDOM_LENGTH);
  crypto.getRandomValues(bytes);
  const payload = [...bytes].map((b) => SYMBOLS[b & 31]).join("");
  return `CERT-${year}-${grouped(payload + checkSymbol(payload))}`;
}

/**
 * The stored form of whatever a person typed or scanned, or undefined when it cannot be a code
 * (wrong shape or check symbol): such lookups never reach the database.
 */
export function canonicalCode(input: string): string | undefined {
  const compact = input.trim().toUpperCase().replace(/[\s-]/g, "")
    .replace(/[IL]/g, "1").replace(/O/g, "0");
  const match = /^CERT(\d{4})([0-9A-HJKMNP-TV-Z]{15})([0-9A-HJKMNP-TV-Z*~$=U])$/
    .exec(compact);
  if (!match) return undefined;
  const [, year, payload, check] = match;
  if (checkSymbol(payload!) !== check) return undefined;
  return `CERT-${year}-${grouped(payload! + check)}`;
}
