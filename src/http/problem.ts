/** RFC 9457 problem details: every HTTP error of the service is one of these. */

/** One invalid field of a request body. */
export interface FieldError {
  field: string;
  message: string;
}

/** What a problem may carry besides status, title and detail. */
export interface HttpProblemOptions {
  /** Extension members of the body (RFC 9457 section 3.2), e.g. `errors` or `allowed`. */
  extra?: Record<string, unknown>;
  /** Response headers, e.g. `Retry-After` or `WWW-Authenticate`. */
  headers?: Record<string, string>;
}

/** A problem the error handler turns into an `application/problem+json` answer. */
export class HttpProblem extends Error {
  readonly extra: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    opts: HttpProblemOptions = {},
  ) {
    super(detail);
    this.name = "HttpProblem";
    this.extra = opts.extra ?? {};
    this.headers = opts.headers ?? {};
  }
}

/** The JSON body of a problem answer. */
export function problemBody(p: HttpProblem, instance: string): Record<string, unknown> {
  return {
    type: `https://payment-ingest.dev/problems/${slug(p.title)}`,
    title: p.title,
    status: p.status,
    detail: p.detail,
    instance,
    ...p.extra,
  };
}

function slug(title: string): string {
  return title.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
}
