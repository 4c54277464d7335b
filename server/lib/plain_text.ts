/** C0 controls (but tab, newline, carriage return) and DEL: never meaningful in stored text. */
// deno-lint-ignore no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;

export const stripControlChars = (text: string) => text.replace(CONTROL, "");

/** A reason someone typed, ending like a sentence, to put before another sentence. */
export const asSentence = (text: string) => {
  const trimmed = text.trim();
  return /[.!?…]$/.test(trimmed) ? trimmed : `${trimmed}.`;
};
