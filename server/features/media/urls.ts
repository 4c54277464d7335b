/** Where a stored file is served. Images have `thumbnail` and `display` variants. */
export function mediaUrl(
  appUrl: string,
  mediaId: string,
  variant?: "thumbnail" | "display",
): string {
  return `${appUrl.replace(/\/+$/, "")}/media/${mediaId}${
    variant ? `/${variant}` : ""
  }`;
}
