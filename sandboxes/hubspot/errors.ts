// HubSpot error bodies (reference B6.5): every failure the sandbox reports is one of these, and
// the server turns it into `{status:'error', message, correlationId, category, ...}`.

export interface HsErrorDetail {
  message: string;
  in?: string;
  code?: string;
}

export class HubSpotApiError extends Error {
  override name = 'HubSpotApiError';
  readonly status: number;
  readonly category: string;
  readonly details: readonly HsErrorDetail[];
  readonly context: Readonly<Record<string, readonly string[]>> | undefined;
  constructor(
    status: number,
    category: string,
    message: string,
    details: readonly HsErrorDetail[] = [],
    context?: Record<string, readonly string[]>,
  ) {
    super(message);
    this.status = status;
    this.category = category;
    this.details = details;
    this.context = context;
  }
}

export function validationError(message: string, details: readonly HsErrorDetail[] = []): HubSpotApiError {
  return new HubSpotApiError(400, 'VALIDATION_ERROR', message, details);
}

export function notFoundError(message = 'resource not found'): HubSpotApiError {
  return new HubSpotApiError(404, 'OBJECT_NOT_FOUND', message);
}

export function conflictError(message: string, existingId: string): HubSpotApiError {
  return new HubSpotApiError(409, 'CONFLICT', message, [], { existingId: [existingId] });
}
