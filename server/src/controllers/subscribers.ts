import fs from 'node:fs';
import { Readable, Transform } from 'node:stream';

import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';

import { getService } from '../utils/get-service';
import { fieldError } from '../utils/validation';
import { crudController, type Context } from './crud';

/** The uploaded file as koa-body (formidable) leaves it. */
interface UploadedFile {
  filepath: string;
  size?: number;
  originalFilename?: string | null;
}

const tooLarge = (limit: number) => new errors.PayloadTooLargeError(`The CSV file is larger than ${limit} bytes (campaigns.maxImportBytes)`);

/**
 * A request body of unknown length, cut off at `limit` bytes with a 413: the rows read before then
 * are imported (each row is whole; importing the file again updates them), the rest is never read.
 */
const capped = (source: Readable, limit: number): Readable => {
  let seen = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      done(seen > limit ? tooLarge(limit) : null, chunk);
    },
  });
  source.on('error', (error) => counter.destroy(error));
  return source.pipe(counter);
};

/** Sets a streamed CSV download. */
export const sendCsv = (ctx: Context, filename: string, stream: Readable) => {
  ctx.set('Content-Type', 'text/csv; charset=utf-8');
  ctx.set('Content-Disposition', `attachment; filename="${filename}"`);
  ctx.body = stream;
};

/** Admin API for subscribers: CRUD, CSV import and export. */
const subscribers = ({ strapi }: { strapi: Core.Strapi }) => {
  const service = () => getService(strapi, 'subscribers');

  return {
    ...crudController('subscribers')({ strapi }),

    /**
     * CSV in: multipart/form-data with a `file` field (options as form fields), a text/csv body
     * (small files: Strapi's body parser buffers text up to its limit), or any other content type
     * such as application/octet-stream, read straight from the request (options in the query).
     */
    async import(ctx: Context) {
      const files = (ctx.request as { files?: Record<string, UploadedFile | UploadedFile[]> }).files;
      const upload = files?.file;
      const limit = getService(strapi, 'runtime').config().campaigns.maxImportBytes;
      let source: Readable;
      let options: unknown;
      try {
        // Refused before anything is read when the size is known up front.
        if (Number(ctx.get('content-length') || 0) > limit) throw tooLarge(limit);
        if (ctx.is('multipart')) {
          if (!upload) return fieldError('file', 'is required (a CSV file in the form field "file")');
          if (Array.isArray(upload)) return fieldError('file', 'send one file');
          if ((upload.size ?? 0) > limit) throw tooLarge(limit);
          source = fs.createReadStream(upload.filepath);
          options = ctx.request.body;
        } else if (typeof ctx.request.body === 'string') {
          source = Readable.from([ctx.request.body]);
          options = ctx.query;
        } else {
          source = capped(ctx.req, limit);
          options = ctx.query;
        }
      } catch (error) {
        if (upload && !Array.isArray(upload)) await fs.promises.rm(upload.filepath, { force: true });
        throw error;
      }
      try {
        ctx.body = { data: await service().import(source, options) };
      } finally {
        source.destroy();
        // Strapi's body middleware only removes uploads under the field name "files".
        if (upload && !Array.isArray(upload)) await fs.promises.rm(upload.filepath, { force: true });
      }
    },

    async export(ctx: Context) {
      const { filename, stream } = await service().exportCsv(ctx.query);
      sendCsv(ctx, filename, stream);
    },
  };
};

export default subscribers;
