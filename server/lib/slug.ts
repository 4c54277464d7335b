/** "Full-Stack Développement 101!" -> "full-stack-developpement-101" (ASCII, at most 80 chars). */
export function slugify(text: string): string {
  const slug = text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/&/g, " and ")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 80)
    .replace(/-+$/, "");
  return slug || "untitled";
}
