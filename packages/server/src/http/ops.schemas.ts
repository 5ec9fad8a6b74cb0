import { Type } from '@sinclair/typebox';
import { problems, ref } from './schemas.js';

export const Health = Type.Object({ status: Type.String() }, { $id: 'Health', title: 'Health' });

const tags = ['Operations'];

export const healthzSchema = {
  tags,
  operationId: 'getHealth',
  summary: 'Liveness',
  description: 'Answers as long as the process serves HTTP; touches no dependency.',
  security: [],
  response: { 200: ref(Health, 'The process is alive: `{"status":"ok"}`') },
};

export const readyzSchema = {
  tags,
  operationId: 'getReadiness',
  summary: 'Readiness',
  description: 'Ready to take traffic: the database answers and the server is not shutting down.',
  security: [],
  response: { 200: ref(Health, 'Ready: `{"status":"ready"}`'), ...problems('SERVICE_UNAVAILABLE') },
};

export const metricsSchema = {
  tags,
  operationId: 'getMetrics',
  summary: 'Prometheus metrics',
  description: 'Request, database pool and process metrics in the Prometheus text exposition format.',
  security: [],
  produces: ['text/plain'],
  response: { 200: { description: 'Metrics in the Prometheus text format', type: 'string' } },
};

export const openapiSchema = {
  tags,
  operationId: 'getOpenApiDocument',
  summary: 'This OpenAPI document',
  description: 'The OpenAPI 3.1 description of the API; `/docs` renders it.',
  security: [],
  response: { 200: { description: 'The OpenAPI document', type: 'object', additionalProperties: true } },
};
