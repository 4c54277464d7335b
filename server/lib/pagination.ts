import type { Context } from "hono";
import * as v from "valibot";

export const DEFAULT_PAGE_SIZE = 12;
export const MAX_PAGE_SIZE = 100;

const wholeNumber = (field: string, min: number, max: number) =>
  v.pipe(
    v.string(),
    v.regex(/^\d{1,6}$/, `${field} must be a whole number`),
    v.transform(Number),
    v.minValue(min, `${field} must be at least ${min}`),
    v.maxValue(max, `${field} must be at most ${max}`),
  );

/** `page` and `limit` as every list takes them (contract: 1-based, default 12, max 100). */
export const pageQuery = (defaultLimit = DEFAULT_PAGE_SIZE) => ({
  page: v.optional(wholeNumber("page", 1, 1_000_000), "1"),
  limit: v.optional(
    wholeNumber("limit", 1, MAX_PAGE_SIZE),
    String(defaultLimit),
  ),
});

export interface PageRequest {
  page: number;
  limit: number;
}

export const offsetOf = ({ page, limit }: PageRequest) => (page - 1) * limit;

export interface Pagination {
  currentPage: number;
  totalPages: number;
  total: number;
  limit: number;
  hasNext: boolean;
  hasPrev: boolean;
}

export function paginationOf(
  { page, limit }: PageRequest,
  total: number,
): Pagination {
  const totalPages = Math.ceil(total / limit);
  return {
    currentPage: page,
    totalPages,
    total,
    limit,
    hasNext: page < totalPages,
    hasPrev: page > 1,
  };
}

export const PaginationSchema = v.object({
  currentPage: v.number(),
  totalPages: v.number(),
  total: v.number(),
  limit: v.number(),
  hasNext: v.boolean(),
  hasPrev: v.boolean(),
});

/** RFC 8288 links to the first, previous, next and last pages of the same query. */
export function linkHeader(requestUrl: string, pagination: Pagination): string {
  const url = new URL(requestUrl);
  const link = (page: number, rel: string) => {
    url.searchParams.set("page", String(page));
    url.searchParams.set("limit", String(pagination.limit));
    return `<${url.pathname}${url.search}>; rel="${rel}"`;
  };
  const last = Math.max(1, pagination.totalPages);
  const links = [link(1, "first")];
  if (pagination.hasPrev) {
    links.push(link(Math.min(pagination.currentPage - 1, last), "prev"));
  }
  if (pagination.hasNext) links.push(link(pagination.currentPage + 1, "next"));
  links.push(link(last, "last"));
  return links.join(", ");
}

/** Sets the Link header and returns the pagination block for the body. */
export function paginate(
  c: Context,
  request: PageRequest,
  total: number,
): Pagination {
  const pagination = paginationOf(request, total);
  c.header("Link", linkHeader(c.req.url, pagination));
  return pagination;
}
