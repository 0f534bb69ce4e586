/**
 * Errors the local service answers with, shaped exactly as AWS sends them (shared/healthimaging-api.md §1.3):
 * header `x-amzn-errortype: <Name>`, JSON body `{"message": "..."}`, and the modelled status code.
 */
export const ERROR_STATUS = {
  ValidationException: 400,
  AccessDeniedException: 403,
  InvalidSignatureException: 403,
  MissingAuthenticationTokenException: 403,
  UnrecognizedClientException: 403,
  ResourceNotFoundException: 404,
  UnknownOperationException: 404,
  ConflictException: 409,
  ServiceQuotaExceededException: 402,
  RequestEntityTooLargeException: 413,
  UnsupportedMediaTypeException: 415,
  NotAcceptableException: 406,
  ThrottlingException: 429,
  InternalServerException: 500,
} as const;

export type ErrorName = keyof typeof ERROR_STATUS;

export class ServiceError extends Error {
  readonly status: number;
  constructor(
    override readonly name: ErrorName,
    message: string,
  ) {
    super(message);
    this.status = ERROR_STATUS[name];
  }
}

export const validationError = (message: string) => new ServiceError('ValidationException', message);
export const notFound = (message: string) => new ServiceError('ResourceNotFoundException', message);
export const conflict = (message: string) => new ServiceError('ConflictException', message);
