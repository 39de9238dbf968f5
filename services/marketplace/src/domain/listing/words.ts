/** The words of a name or tagline the typo dictionary keeps (as queryWords splits a query; 2 letters or more). */
export function dictionaryWords(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => w.length >= 2 && w.length <= 64);
}
