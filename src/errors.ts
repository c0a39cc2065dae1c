// The error catalog: every failure a client can see has one code, one HTTP status and one title.
// The HTTP layer turns a RegistryError into application/problem+json in exactly one place.

export const errorCatalog = {
  TL_ERR_VALIDATION: { status: 400, title: 'Invalid request' },
  TL_ERR_MALFORMED_JSON: { status: 400, title: 'Malformed JSON body' },
  TL_ERR_SELF_LINK: { status: 400, title: 'A node cannot link to itself' },
  TL_ERR_ROUTE_NOT_FOUND: { status: 404, title: 'No such route' },
  TL_ERR_NODE_NOT_FOUND: { status: 404, title: 'Node not found' },
  TL_ERR_LINK_NOT_FOUND: { status: 404, title: 'Link not found' },
  TL_ERR_GROUP_NOT_FOUND: { status: 404, title: 'Group not found' },
  TL_ERR_CAPABILITY_NOT_FOUND: { status: 404, title: 'Capability not found' },
  TL_ERR_MEMBERSHIP_NOT_FOUND: { status: 404, title: 'Membership not found' },
  TL_ERR_LINK_EXISTS: { status: 409, title: 'An open link already exists for this pair' },
  TL_ERR_LINK_ENDED: { status: 409, title: 'The link is already closed or failed' },
  TL_ERR_GROUP_EXISTS: { status: 409, title: 'A group with this name already exists' },
  TL_ERR_GROUP_CYCLE: { status: 409, title: 'The parent would make the group tree a cycle' },
  TL_ERR_GROUP_HAS_CHILDREN: { status: 409, title: 'The group still has child groups' },
  TL_ERR_SINCE_EXPIRED: { status: 410, title: 'The requested seq is older than the resume window' },
  TL_ERR_BODY_TOO_LARGE: { status: 413, title: 'Request body too large' },
  TL_ERR_URI_TOO_LONG: { status: 414, title: 'A path segment is too long' },
  TL_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  TL_ERR_HEADERS_TOO_LARGE: { status: 431, title: 'Request headers too large' },
  TL_ERR_STORE_UNAVAILABLE: { status: 503, title: 'The store is unavailable' },
  TL_ERR_INTERNAL: { status: 500, title: 'Internal error' },
} as const;

export type ErrorCode = keyof typeof errorCatalog;

/** One invalid input value: the field's name (a JSON path such as `meta.zone`) and why. */
export interface InvalidParam {
  name: string;
  reason: string;
}

/** A failure with a catalog code, raised by the registry and the HTTP layer alike. */
export class RegistryError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly invalidParams: InvalidParam[] | undefined;

  constructor(
    code: ErrorCode,
    detail: string,
    options: { invalidParams?: InvalidParam[]; cause?: unknown } = {},
  ) {
    super(detail, { cause: options.cause });
    this.name = 'RegistryError';
    this.code = code;
    this.status = errorCatalog[code].status;
    this.invalidParams = options.invalidParams;
  }
}

export function notFound(
  code: Extract<ErrorCode, `${string}_NOT_FOUND`>,
  detail: string,
): RegistryError {
  return new RegistryError(code, detail);
}

export function invalid(name: string, reason: string): RegistryError {
  return new RegistryError('TL_ERR_VALIDATION', `${name} ${reason}`, {
    invalidParams: [{ name, reason }],
  });
}
