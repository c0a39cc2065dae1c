// Pieces shared by the route files.
import { Type } from '@sinclair/typebox';

const problemRef = Type.Ref('Problem');

/** The problem responses every route may send, for the OpenAPI document. */
export const errorResponses = {
  400: problemRef,
  404: problemRef,
  409: problemRef,
  413: problemRef,
  415: problemRef,
  500: problemRef,
  503: problemRef,
} as const;
