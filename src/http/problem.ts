/** RFC 9457 problem details: every HTTP error of the service is one of these. */

/** One invalid field of a request body. */
export interface FieldError {
  field: string;
  message: string;
}

/** A problem the error handler turns into an `application/problem+json` answer. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.name = "HttpProblem";
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
