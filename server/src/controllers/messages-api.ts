import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';
import { z } from 'zod';

import { MessageValidationError } from '../engine/sending-engine';
import { getService } from '../utils/get-service';
import type { Context } from './crud';
import { parseInput } from '../utils/validation';


const sendOptionsSchema = z.strictObject({
  group: z.string().min(1).optional(),
  server: z.string().min(1).optional(),
  idempotencyKey: z.string().min(1).max(200).optional(),
  sendAt: z.iso.datetime({ error: 'must be an ISO date-time', offset: true }).optional(),
  priority: z.int().min(1).max(1000).optional(),
  /** For the routing rules; each tag is checked by the engine. */
  tags: z.array(z.string(), { error: 'must be a list of strings' }).optional(),
});

const sendBodySchema = z.strictObject({
  message: z.unknown(),
  options: sendOptionsSchema.optional(),
});

/** Engine validation errors become Strapi's 400, naming each field under `message.`. */
const asBadRequest = async <T>(work: () => Promise<T>, prefix: string[]): Promise<T> => {
  try {
    return await work();
  } catch (error) {
    if (error instanceof MessageValidationError) {
      const fieldErrors = error.errors.map((entry) => ({ ...entry, path: ['group', 'server', 'sendAt', 'tags'].includes(entry.path[0]!) ? ['options', ...entry.path] : [...prefix, ...entry.path], name: 'ValidationError' }));
      throw new errors.ValidationError(fieldErrors.map((entry) => `${entry.path.join('.')}: ${entry.message}`).join('; '), { errors: fieldErrors });
    }
    throw error;
  }
};

/** Content API (API token): other services queue mail over HTTP. */
const messagesApi = ({ strapi }: { strapi: Core.Strapi }) => ({
  async send(ctx: Context) {
    const body = parseInput(sendBodySchema, ctx.request.body);
    if (body.message === undefined) throw new errors.ValidationError('message: is required', { errors: [{ path: ['message'], message: 'is required', name: 'ValidationError' }] });
    const result = await asBadRequest(() => getService(strapi, 'mailer').send(body.message as never, { ...body.options, source: 'http' }), ['message']);
    ctx.status = result.duplicate ? 200 : 202;
    ctx.body = { data: result };
  },

  async status(ctx: Context) {
    const entry = await getService(strapi, 'mailer').status(ctx.params.id);
    if (!entry) throw new errors.NotFoundError(`Message ${ctx.params.id} not found`);
    ctx.body = { data: { id: entry.id, status: entry.status, attempts: entry.attempts.length, lastReply: entry.lastReply, queuedAt: entry.queuedAt, sentAt: entry.sentAt } };
  },
});

export default messagesApi;
