// Error shapes of the Salesforce REST API ("Status Codes and Error Responses").

/** A per-record error inside a SaveResult: note `statusCode`, not `errorCode`. */
export interface RecordError {
  statusCode: string;
  message: string;
  fields: string[];
}

/** A request-level failure, sent as `[{message, errorCode, fields?}]` with an HTTP status. */
export class SfApiError extends Error {
  override name = 'SfApiError';
  readonly status: number;
  readonly errorCode: string;
  readonly fields: string[] | undefined;
  constructor(status: number, errorCode: string, message: string, fields?: string[]) {
    super(message);
    this.status = status;
    this.errorCode = errorCode;
    this.fields = fields;
  }

  body(): Array<{ message: string; errorCode: string; fields?: string[] }> {
    return [
      this.fields === undefined
        ? { message: this.message, errorCode: this.errorCode }
        : { message: this.message, errorCode: this.errorCode, fields: this.fields },
    ];
  }
}

/** Thrown by the sandbox's direct API when a write is rejected the way the org would reject it. */
export class SalesforceSandboxError extends Error {
  override name = 'SalesforceSandboxError';
  readonly errorCode: string;
  readonly errors: RecordError[];
  constructor(errors: RecordError[]) {
    const first = errors[0];
    super(first === undefined ? 'write rejected' : `${first.statusCode}: ${first.message}`);
    this.errorCode = first?.statusCode ?? 'UNKNOWN_EXCEPTION';
    this.errors = errors;
  }
}

export function notFound(message = 'The requested resource does not exist'): SfApiError {
  return new SfApiError(404, 'NOT_FOUND', message);
}
