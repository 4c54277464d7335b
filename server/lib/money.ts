import * as v from "valibot";

/** Major-unit amounts in the API, minor-unit integers in the database (contract: money). */
export const toMinor = (amount: number): number => Math.round(amount * 100);
export const toMajor = (minor: number): number => minor / 100;
/** How an amount reads for people: `34.99 USD`. */
export const formatMoney = (minor: number, currency: string) =>
  `${(minor / 100).toFixed(2)} ${currency.toUpperCase()}`;

const MAX_PRICE = 1_000_000;

/** A price in major units: non-negative, at most two decimals. */
export const Price = v.pipe(
  v.number("Must be a number"),
  v.minValue(0, "Must not be negative"),
  v.maxValue(MAX_PRICE, `Must be at most ${MAX_PRICE}`),
  v.check(
    (n) => Math.abs(n * 100 - Math.round(n * 100)) < 1e-6,
    "Must have at most two decimals",
  ),
);

// Currencies whose minor unit is not a hundredth: prices here always have two decimals.
const NOT_TWO_DECIMALS = new Set([
  "BIF",
  "CLP",
  "DJF",
  "GNF",
  "JPY",
  "KMF",
  "KRW",
  "MGA",
  "PYG",
  "RWF",
  "UGX",
  "VND",
  "VUV",
  "XAF",
  "XOF",
  "XPF",
  "BHD",
  "IQD",
  "JOD",
  "KWD",
  "LYD",
  "OMR",
  "TND",
]);

export const Currency = v.pipe(
  v.string(),
  v.trim(),
  v.toUpperCase(),
  v.regex(/^[A-Z]{3}$/, "Must be a three-letter ISO 4217 code"),
  v.check(
    (code) => !NOT_TWO_DECIMALS.has(code),
    "Only currencies with two decimal places are supported",
  ),
);
