// Pieces shared by the route files.
import { Type } from '@sinclair/typebox';

import { errorCatalog } from '../../errors.js';
import { problemContentType } from '../problem.js';

function problemResponse(status: number) {
  const titles = Object.values(errorCatalog)
    .filter((entry) => entry.status === status)
    .map((entry) => entry.title);
  return {
    description: titles.join('; '),
    content: { [problemContentType]: { schema: Type.Ref('Problem') } },
  };
}

/** The problem responses every route may send, for the OpenAPI document. */
export const errorResponses = {
  400: problemResponse(400),
  404: problemResponse(404),
  409: problemResponse(409),
  413: problemResponse(413),
  414: problemResponse(414),
  415: problemResponse(415),
  500: problemResponse(500),
  503: problemResponse(503),
} as const;
