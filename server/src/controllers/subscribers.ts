import fs from 'node:fs';
import { Readable } from 'node:stream';

import type { Core } from '@strapi/strapi';

import { getService } from '../utils/get-service';
import { fieldError } from '../utils/validation';
import { crudController, type Context } from './crud';

/** The uploaded file as koa-body (formidable) leaves it. */
interface UploadedFile {
  filepath: string;
  originalFilename?: string | null;
}

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
      let source: Readable;
      let options: unknown;
      if (ctx.is('multipart')) {
        if (!upload) return fieldError('file', 'is required (a CSV file in the form field "file")');
        if (Array.isArray(upload)) return fieldError('file', 'send one file');
        source = fs.createReadStream(upload.filepath);
        options = ctx.request.body;
      } else if (typeof ctx.request.body === 'string') {
        source = Readable.from([ctx.request.body]);
        options = ctx.query;
      } else {
        source = ctx.req;
        options = ctx.query;
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
